//! Builds of the C device kit for the tests: the compiler runs that fail on
//! any diagnostic, the kit's Arduino example compiled for an Uno against
//! the stock AVR core, and the simavr host that runs that ELF on a
//! simulated ATmega328P (`assets/firmware/host/simavr_uno.c`). Each build
//! happens once per test binary.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::OnceLock;

pub const FIRMWARE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/firmware");
pub const LIBRARY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/firmware/motiontune_device.c"
);
/// Debian's arduino-core-avr package: the stock Arduino AVR core, which
/// .ci/run installs with gcc-avr and avr-libc.
pub const AVR_CORE: &str = "/usr/share/arduino/hardware/arduino/avr";
const SKETCH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/firmware/arduino/motiontune_servo/motiontune_servo.ino"
);
const SKETCHES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/simavr_sketches");
const SIMAVR_HOST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/firmware/host/simavr_uno.c"
);

/// Every build of the kit: C99 and no warning, so it drops into any project.
pub const STRICT: &[&str] = &[
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Wpedantic",
    "-Wconversion",
    "-Wshadow",
    "-Werror",
];
/// The Uno's flags from the core's boards.txt and platform.txt.
const UNO: &[&str] = &[
    "-mmcu=atmega328p",
    "-DF_CPU=16000000L",
    "-DARDUINO=10807",
    "-DARDUINO_AVR_UNO",
    "-DARDUINO_ARCH_AVR",
    "-Os",
    "-ffunction-sections",
    "-fdata-sections",
    "-flto",
];

/// A directory of this test binary's builds.
pub fn build_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).expect("build directory");
    dir
}

/// Runs a compiler or linker, failing on any diagnostic.
pub fn build(mut command: Process, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run the compiler for {what}: {e}"));
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "{what}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The kit's Arduino example linked for an Uno: the library as strict C99
/// and the sketch the way the IDE compiles a .ino, warnings as errors.
pub fn uno_sketch() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = build_dir("uno");
        let library = compile_for_uno("avr-gcc", STRICT, Path::new(LIBRARY), &out.join("kit.o"));
        let sketch = compile_sketch(Path::new(SKETCH), &out.join("motiontune_servo.o"));
        link_for_uno(&[library, sketch], &out.join("motiontune_servo.elf"))
    })
}

/// A sketch of `tests/simavr_sketches/` (NAME.ino) linked for an Uno with
/// the core alone.
pub fn uno_test_sketch(name: &str) -> PathBuf {
    let out = build_dir("uno");
    let source = Path::new(SKETCHES).join(format!("{name}.ino"));
    let sketch = compile_sketch(&source, &out.join(format!("{name}.o")));
    link_for_uno(&[sketch], &out.join(format!("{name}.elf")))
}

/// `tests/simavr_sketches/simplefoc_openloop.ino` on the unchanged
/// SimpleFOC 2.4.0 sources of `../shared/thirdparty` (the library's warnings
/// are not ours; its debug output off, as an Uno needs); `None` where that
/// folder is missing.
pub fn uno_simplefoc_sketch() -> Option<&'static Path> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let library = Path::new(super::SIMPLEFOC_LIBRARY).join("src");
            if !library.is_dir() {
                return None;
            }
            let out = build_dir("uno/simplefoc");
            let flags = [
                "-std=gnu++11",
                "-fno-exceptions",
                "-fno-threadsafe-statics",
                "-DSIMPLEFOC_DISABLE_DEBUG",
                "-w",
            ];
            // -isystem: the library's headers warn in our sketch too.
            let include = library.display().to_string();
            let mut sources = Vec::new();
            let mut folders = vec![library.clone()];
            while let Some(folder) = folders.pop() {
                for entry in std::fs::read_dir(&folder).expect("SimpleFOC sources") {
                    let path = entry.expect("SimpleFOC source").path();
                    if path.is_dir() {
                        folders.push(path);
                    } else if path.extension().is_some_and(|e| e == "cpp") {
                        sources.push(path);
                    }
                }
            }
            sources.sort();
            let mut objects: Vec<PathBuf> = sources
                .iter()
                .enumerate()
                .map(|(i, source)| {
                    let flags = [&flags[..], &["-isystem", include.as_str()]].concat();
                    compile_for_uno("avr-g++", &flags, source, &out.join(format!("{i}.o")))
                })
                .collect();
            let sketch = Path::new(SKETCHES).join("simplefoc_openloop.ino");
            let mut sketch_flags = vec!["-isystem", include.as_str(), "-DSIMPLEFOC_DISABLE_DEBUG"];
            sketch_flags.extend_from_slice(SKETCH_FLAGS);
            objects.push(compile_for_uno(
                "avr-g++",
                &sketch_flags,
                &sketch,
                &out.join("sketch.o"),
            ));
            Some(link_for_uno(&objects, &out.join("simplefoc_openloop.elf")))
        })
        .as_deref()
}

/// How the IDE compiles a .ino (C++ with Arduino.h included first), with
/// warnings as errors.
const SKETCH_FLAGS: &[&str] = &[
    "-std=gnu++11",
    "-fno-exceptions",
    "-fno-threadsafe-statics",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-x",
    "c++",
    "-include",
    "Arduino.h",
];

/// A .ino the way the IDE compiles one: C++ with Arduino.h included first.
fn compile_sketch(source: &Path, object: &Path) -> PathBuf {
    compile_for_uno("avr-g++", SKETCH_FLAGS, source, object)
}

fn compile_for_uno(compiler: &str, flags: &[&str], source: &Path, object: &Path) -> PathBuf {
    let core = Path::new(AVR_CORE);
    assert!(
        core.is_dir(),
        "no Arduino AVR core in {AVR_CORE}: install gcc-avr avr-libc arduino-core-avr (.ci/run does)"
    );
    let mut command = Process::new(compiler);
    command.arg("-c").args(UNO).args(flags);
    for dir in ["cores/arduino", "variants/standard", "libraries/EEPROM/src"] {
        command.arg("-I").arg(core.join(dir));
    }
    command.arg("-I").arg(FIRMWARE);
    command.arg(source).arg("-o").arg(object);
    build(command, &source.display().to_string());
    object.to_path_buf()
}

/// The core as the IDE builds it, once, warnings off: they are not ours.
/// Debian pairs core 1.8.7 with avr-gcc 5.4, whose float.h gives
/// DECIMAL_DIG (used by WString.cpp) to C99 only; pass the compiler's own.
fn core_objects() -> &'static [PathBuf] {
    static BUILT: OnceLock<Vec<PathBuf>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = build_dir("uno/core");
        let mut sources: Vec<PathBuf> =
            std::fs::read_dir(Path::new(AVR_CORE).join("cores/arduino"))
                .expect("core sources")
                .map(|entry| entry.expect("core source").path())
                .collect();
        sources.sort();
        let mut objects = Vec::new();
        for source in &sources {
            let object = out.join(format!("{}.o", objects.len()));
            let flags: &[&str] = match source.extension().and_then(|e| e.to_str()) {
                Some("c") => &["-std=gnu11", "-w"],
                Some("cpp") => &[
                    "-std=gnu++11",
                    "-fpermissive",
                    "-fno-exceptions",
                    "-fno-threadsafe-statics",
                    "-DDECIMAL_DIG=__DECIMAL_DIG__",
                    "-w",
                ],
                Some("S") => &["-x", "assembler-with-cpp"],
                _ => continue,
            };
            let compiler = if flags[0] == "-std=gnu++11" {
                "avr-g++"
            } else {
                "avr-gcc"
            };
            objects.push(compile_for_uno(compiler, flags, source, &object));
        }
        objects
    })
}

fn link_for_uno(objects: &[PathBuf], elf: &Path) -> PathBuf {
    let mut link = Process::new("avr-gcc");
    link.args(["-mmcu=atmega328p", "-Os", "-flto", "-fuse-linker-plugin"])
        .arg("-Wl,--gc-sections")
        .args(objects)
        .args(core_objects())
        .arg("-lm")
        .arg("-o")
        .arg(elf);
    build(link, &format!("linking {}", elf.display()));
    elf.to_path_buf()
}

/// The simavr host program, built against Debian's simavr 1.6.
pub fn simavr_uno() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        assert!(
            Path::new("/usr/include/simavr/sim_avr.h").is_file(),
            "no simavr headers: install simavr libsimavr-dev libsimavrparts1 (.ci/run does)"
        );
        let program = build_dir("simavr").join("simavr_uno");
        let mut cc = Process::new("cc");
        cc.args(["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"])
            .args(["-I", "/usr/include/simavr"])
            .arg(SIMAVR_HOST)
            .args(["-lsimavr", "-lsimavrparts", "-lpthread", "-lutil", "-lm"])
            .arg("-o")
            .arg(&program);
        build(cc, "simavr_uno");
        program
    })
}
