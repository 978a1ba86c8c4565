//! A device's label: the name its row in the device list, its columns in a
//! recording of several devices and its section in a machine's profile go
//! by. One set of rules for the app and the command line:
//!
//! - a label is not empty, at most 40 characters, and holds no `.` (which
//!   ends it in a column name), `,`, `;`, `"` or control character;
//! - by default it is the name the device gives, with what a label cannot
//!   hold turned into `_`, and a number after it when another device
//!   already carries it (`motiontune simulated drive 2`).

/// The most characters a label has.
const MAX_CHARS: usize = 40;

/// Whether `label` can name a device; why not, in one line.
pub fn check(label: &str) -> Result<(), String> {
    if label.trim().is_empty() {
        return Err("a device label cannot be empty".into());
    }
    if label.chars().count() > MAX_CHARS {
        return Err(format!(
            "device label {label:?} is longer than {MAX_CHARS} characters"
        ));
    }
    match label.chars().find(|&c| !allowed(c)) {
        Some(c) => Err(format!(
            "device label {label:?} holds {c:?}: a label has no . , ; \" or control characters"
        )),
        None => Ok(()),
    }
}

fn allowed(c: char) -> bool {
    !matches!(c, '.' | ',' | ';' | '"') && !c.is_control()
}

/// A label made from the name a device gives: what a label cannot hold
/// becomes `_`, cut to leave room for a number; `device` for a blank name.
pub fn from_name(name: &str) -> String {
    let label: String = name
        .trim()
        .chars()
        .map(|c| if allowed(c) { c } else { '_' })
        .take(MAX_CHARS - 4)
        .collect();
    if label.is_empty() {
        "device".into()
    } else {
        label
    }
}

/// `base`, or `base 2`, `base 3` … whichever is not `taken`.
pub fn unique(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_owned();
    }
    (2..)
        .map(|n| format!("{base} {n}"))
        .find(|label| !taken(label))
        .unwrap_or_else(|| base.to_owned())
}

/// Whether `label` is `base` with a number after it, as [`unique`] makes.
pub fn is_numbered(label: &str, base: &str) -> bool {
    label
        .strip_prefix(base)
        .and_then(|rest| rest.strip_prefix(' '))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Each device's label for a command: `given` when there is one per
/// device (each checked, none twice), else each device's name made a
/// label and unique among them.
pub fn labels(given: &[String], names: &[&str]) -> Result<Vec<String>, String> {
    if !given.is_empty() {
        if given.len() != names.len() {
            return Err(format!(
                "{} --label for {} --port: give one label per port, or none",
                given.len(),
                names.len()
            ));
        }
        for (k, label) in given.iter().enumerate() {
            check(label)?;
            if given[..k].contains(label) {
                return Err(format!("device label {label:?} is given twice"));
            }
        }
        return Ok(given.to_vec());
    }
    let mut labels: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        let label = unique(&from_name(name), |l| labels.iter().any(|t| t == l));
        labels.push(label);
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_labels_are_the_names_made_safe_and_numbered() {
        assert_eq!(
            labels(&[], &["ODrive axis0", "ODrive axis0", "v1.2, beta", " "]).expect("labels"),
            ["ODrive axis0", "ODrive axis0 2", "v1_2_ beta", "device"]
        );
        assert_eq!(from_name(&"x".repeat(50)).len(), 36);
    }

    #[test]
    fn given_labels_are_one_per_port_checked_and_distinct() {
        let given = ["x".to_owned(), "y".to_owned()];
        assert_eq!(labels(&given, &["a", "b"]).expect("labels"), given);
        let error = labels(&given[..1], &["a", "b"]).expect_err("refused");
        assert!(error.contains("one label per port"), "{error}");
        let twice = ["x".to_owned(), "x".to_owned()];
        let error = labels(&twice, &["a", "b"]).expect_err("refused");
        assert!(error.contains("given twice"), "{error}");
        let dotted = ["x.1".to_owned()];
        let error = labels(&dotted, &["a"]).expect_err("refused");
        assert!(error.contains("holds '.'"), "{error}");
        for bad in [
            "",
            " ",
            "a.b",
            "a,b",
            "a;b",
            "a\"b",
            "a\nb",
            &"x".repeat(41),
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
        check("gantry X-1_left").expect("a good label");
    }

    #[test]
    fn numbers_are_recognised_only_after_a_space() {
        assert!(is_numbered("Simulated drive 2", "Simulated drive"));
        assert!(is_numbered("Simulated drive 12", "Simulated drive"));
        assert!(!is_numbered("Simulated drive", "Simulated drive"));
        assert!(!is_numbered("Simulated drive x", "Simulated drive"));
        assert!(!is_numbered("Simulated drive2", "Simulated drive"));
    }
}
