//! Two devices in one window: simulated drives behind their own ptys, the
//! second added with *Add device* as a user does, and the looks into each
//! device's session the several-device tests share.

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use motiontune::app::App;
use motiontune::device::DeviceId;
use motiontune::device::session::DeviceSession;
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::pty::PtyServer;

use super::{app_on_port, step_until, wait_connected};

/// The first device added and the second.
pub const FIRST: DeviceId = DeviceId(1);
pub const SECOND: DeviceId = DeviceId(2);

/// A simulated drive behind a pty of its own.
pub fn serve() -> PtyServer {
    PtyServer::start(SimDevice::new(
        DriveConfig::default(),
        DeviceSettings::default(),
    ))
    .expect("pty available")
}

/// The app connected to `a`, then `b` added with *Add device*.
pub fn two_devices(a: &PtyServer, b: &PtyServer) -> Harness<'static, App> {
    let mut harness = app_on_port(a.path());
    wait_connected(&mut harness);
    add_device(&mut harness, b.path(), None);
    harness
}

/// Types `path` into the connection bar's port field, as a user does,
/// picks `protocol` (by its title) if given, presses *Add device* and
/// waits until every device is connected.
pub fn add_device(harness: &mut Harness<'static, App>, path: &str, protocol: Option<&str>) {
    harness
        .get_by_role_and_label(Role::TextInput, "Port")
        .set_text_value_accesskit(path);
    harness.run_steps(2);
    if let Some(protocol) = protocol {
        harness
            .get_by_role_and_label(Role::ComboBox, "Protocol")
            .click_accesskit();
        harness.run_steps(2);
        harness.get_by_label(protocol).click_accesskit();
        harness.run_steps(2);
    }
    let before = harness.state().devices().len();
    harness.get_by_label("Add device").click_accesskit();
    harness.step();
    step_until(harness, "every device connected", |h| {
        let devices = h.state().devices();
        devices.len() == before + 1 && devices.iter().all(|d| d.session.is_connected())
    });
    harness.step();
}

/// Device `id`'s session; panics if there is none.
pub fn session<'h>(harness: &'h Harness<'static, App>, id: DeviceId) -> &'h DeviceSession {
    &harness
        .state()
        .devices()
        .get(id)
        .unwrap_or_else(|| panic!("no device {id:?}"))
        .session
}

/// Device time of the newest sample `id` took in.
pub fn newest(harness: &Harness<'static, App>, id: DeviceId) -> f64 {
    session(harness, id)
        .history
        .as_ref()
        .and_then(|h| h.time_span())
        .map_or(0.0, |(_, newest)| newest)
}

/// Selects device `id` from its row.
pub fn select(harness: &mut Harness<'static, App>, id: DeviceId) {
    harness
        .get_by_label(&format!("Select device {}", id.0))
        .click_accesskit();
    harness.run_steps(2);
    assert_eq!(harness.state().devices().selected_id(), Some(id));
}
