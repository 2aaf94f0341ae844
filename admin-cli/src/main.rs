//! `idlewatch-admin`: see the library for the commands.

use std::process::ExitCode;

fn main() -> ExitCode {
    idlewatch_admin::main_with(std::env::args_os())
}
