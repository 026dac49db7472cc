//! One module per command, following the clap tree.

pub(crate) mod audit;
pub(crate) mod bundle;
pub(crate) mod ca;
pub(crate) mod completions;
pub(crate) mod crl;
pub(crate) mod csr;
pub(crate) mod doctor;
pub(crate) mod expiry;
pub(crate) mod hba;
pub(crate) mod inspect;
pub(crate) mod issue;
pub(crate) mod key;
pub(crate) mod man;
pub(crate) mod probe;
pub(crate) mod quickstart;
pub(crate) mod revoke;
pub(crate) mod rotation;
pub(crate) mod sign;
pub(crate) mod verify;
pub(crate) mod version;
