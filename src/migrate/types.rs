//! The terms that the run (`mod.rs`) and both topology paths (`single.rs`, `cluster.rs`)
//! share: what a run is asked to do ([`RunSettings`]), how long its markers outlive the 1.x
//! keys, and what each key came to. In a file of their own so that the topology paths never
//! import the run that calls them.

/// How long a "migrated" marker outlives its 1.x key, in seconds: one day. A 1.x instance that
/// is still running can extend the 1.x key (`refresh`) past its marker; two runs less than a
/// day apart still never resurrect a session that 2.x killed in between.
pub const MARKER_GRACE_SECS: u64 = 86_400;

/// What one batch of a run is asked to do (`NativeMigration.step`'s arguments, gathered).
#[derive(Debug, Clone, Copy)]
pub struct RunSettings {
    /// Count what would happen; write nothing.
    pub dry_run: bool,
    /// Delete each 1.x key once it is converted (or was converted by an earlier run).
    pub delete_old: bool,
    /// `SCAN COUNT`.
    pub batch_size: u32,
}

/// What happened to one key.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Status {
    /// Converted by this run (dry run: would be).
    Migrated,
    /// Converted by an earlier run (the marker), or the session exists.
    Already,
    /// The key expired or was deleted since `SCAN` listed it.
    Gone,
    /// Not converted, with the reason.
    Skipped(String),
}

/// The outcome of one key: its status, and whether its 1.x key was (dry run: would be) deleted.
pub(super) type KeyOutcome = (Status, bool);
