//! Org-wide assessment wiring shared by the assessor (Lambda and command
//! line) and the MCP server: the settings from documented environment
//! variables, the account directory (Organizations or a configured list), and
//! the choice of stores and collector, each a port.

pub mod directory;
mod exceptions;
mod launch;
mod settings;
mod wiring;

pub use directory::{ListedDirectory, OrganizationsDirectory};
pub use exceptions::{EXCEPTIONS_VAR, ExceptionsLocation, load_exceptions, load_exceptions_file};
pub use launch::{LambdaLauncher, TaskLauncher};
pub use settings::*;
pub use wiring::{Org, Stores};
