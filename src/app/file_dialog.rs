//! Native file dialogs ([`rfd`]) that never block the UI thread: the
//! dialog is awaited on a helper thread and its answer picked up by a later
//! frame. Where no dialog can open (no desktop portal, as under Xvfb) the
//! answer is "nothing chosen" and the typed path beside every *Browse…*
//! button still works.

use std::path::PathBuf;

use crossbeam_channel::{Receiver, TryRecvError};

/// What a dialog is for.
#[derive(Clone, Debug)]
pub enum Ask {
    /// An existing file to open, with the extensions offered first.
    Open {
        /// The dialog's title.
        title: &'static str,
        /// Filter name and extensions (without dots).
        filter: (&'static str, &'static [&'static str]),
    },
    /// A file to write.
    Save {
        /// The dialog's title.
        title: &'static str,
        /// The name offered.
        name: String,
    },
    /// A folder.
    Folder {
        /// The dialog's title.
        title: &'static str,
    },
}

/// One dialog at a time, open or not.
#[derive(Default)]
pub struct FileDialog {
    pending: Option<Receiver<Option<PathBuf>>>,
}

impl FileDialog {
    /// A dialog is open.
    pub fn is_open(&self) -> bool {
        self.pending.is_some()
    }

    /// Opens the dialog unless one is open; the frame after it closes,
    /// [`Self::take`] has the answer.
    pub fn open(&mut self, ask: Ask, start_in: Option<PathBuf>, ctx: &egui::Context) {
        if self.is_open() {
            return;
        }
        let (tx, rx) = crossbeam_channel::bounded(1);
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("file dialog".into())
            .spawn(move || {
                let mut dialog = rfd::AsyncFileDialog::new();
                if let Some(folder) = start_in {
                    dialog = dialog.set_directory(folder);
                }
                let chosen = match ask {
                    Ask::Open { title, filter } => pollster::block_on(
                        dialog
                            .set_title(title)
                            .add_filter(filter.0, filter.1)
                            .add_filter("All files", &["*"])
                            .pick_file(),
                    ),
                    Ask::Save { title, name } => {
                        pollster::block_on(dialog.set_title(title).set_file_name(name).save_file())
                    }
                    Ask::Folder { title } => {
                        pollster::block_on(dialog.set_title(title).pick_folder())
                    }
                };
                let _ = tx.send(chosen.map(|handle| handle.path().to_path_buf()));
                ctx.request_repaint();
            });
        if spawned.is_ok() {
            self.pending = Some(rx);
        }
    }

    /// The path chosen, once, when the dialog has closed with one.
    pub fn take(&mut self) -> Option<PathBuf> {
        let rx = self.pending.as_ref()?;
        match rx.try_recv() {
            Ok(chosen) => {
                self.pending = None;
                chosen
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.pending = None;
                None
            }
        }
    }
}
