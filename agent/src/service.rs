//! `idlewatch-agent service`: the agent under the Windows Service Control Manager (the
//! installed service, LocalSystem, automatic start). It reports Running at once, stops on the
//! SCM's Stop or Shutdown, and sets its own recovery (restart after 5 s, 30 s, 60 s), which the
//! installer cannot. Elsewhere `service` runs the agent in the foreground, as without it.

use crate::config::AgentConfig;

/// The service's name (as installed).
pub const SERVICE_NAME: &str = "idlewatch-agent";

/// Runs the agent as a Windows service until the SCM stops it.
///
/// # Errors
/// When the process was not started by the Service Control Manager.
#[cfg(windows)]
pub fn run(config: AgentConfig) -> anyhow::Result<()> {
    windows_impl::run(config)
}

/// Runs the agent in the foreground until SIGINT or SIGTERM.
///
/// # Errors
/// As [`crate::run`].
#[cfg(not(windows))]
pub fn run(config: AgentConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(2)
        .enable_all()
        .build()?;
    let shutdown = {
        let _context = runtime.enter();
        crate::signals::shutdown()?
    };
    runtime.block_on(crate::run(config, shutdown))
}

#[cfg(windows)]
mod windows_impl {
    #![allow(unsafe_code)] // define_windows_service! expands to the FFI entry point the SCM calls

    use std::ffi::OsString;
    use std::sync::OnceLock;
    use std::time::Duration;

    use anyhow::Context;
    use tracing::{error, info, warn};
    use windows_service::service::{
        ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
        ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod, ServiceState,
        ServiceStatus, ServiceType,
    };
    use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
    use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
    use windows_service::{define_windows_service, service_dispatcher};

    use super::SERVICE_NAME;
    use crate::config::AgentConfig;

    // The SCM calls the service's entry point on a thread of its own, with no way to pass it
    // anything: the configuration loaded by `run` waits here.
    static CONFIG: OnceLock<AgentConfig> = OnceLock::new();

    define_windows_service!(ffi_service_main, service_main);

    pub fn run(config: AgentConfig) -> anyhow::Result<()> {
        let _ = CONFIG.set(config);
        service_dispatcher::start(SERVICE_NAME, ffi_service_main).context(
            "this is the service's entry point, for the Service Control Manager; to run the \
             agent in a console, leave out `service`",
        )
    }

    fn status(state: ServiceState, exit: u32) -> ServiceStatus {
        ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state: state,
            controls_accepted: if state == ServiceState::Running {
                ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
            } else {
                ServiceControlAccept::empty()
            },
            exit_code: ServiceExitCode::Win32(exit),
            checkpoint: 0,
            wait_hint: Duration::from_secs(10),
            process_id: None,
        }
    }

    /// Restart after 5 s, 30 s and 60 s, counting failures afresh after a day; errors are
    /// logged (Wine ignores these settings).
    fn set_recovery() {
        let set = || -> windows_service::Result<()> {
            let manager =
                ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)?;
            let service = manager.open_service(SERVICE_NAME, ServiceAccess::CHANGE_CONFIG)?;
            let restart = |secs| ServiceAction {
                action_type: ServiceActionType::Restart,
                delay: Duration::from_secs(secs),
            };
            service.update_failure_actions(ServiceFailureActions {
                reset_period: ServiceFailureResetPeriod::After(Duration::from_secs(86_400)),
                reboot_msg: None,
                command: None,
                actions: Some(vec![restart(5), restart(30), restart(60)]),
            })?;
            service.set_failure_actions_on_non_crash_failures(true)
        };
        if let Err(e) = set() {
            warn!("cannot set the service's restart-on-failure ({e}); set it with sc.exe failure");
        }
    }

    fn service_main(_arguments: Vec<OsString>) {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let mut stop_tx = Some(stop_tx);
        let handler =
            service_control_handler::register(SERVICE_NAME, move |control| match control {
                ServiceControl::Stop | ServiceControl::Shutdown => {
                    if let Some(tx) = stop_tx.take() {
                        let _ = tx.send(());
                    }
                    ServiceControlHandlerResult::NoError
                }
                ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
                _ => ServiceControlHandlerResult::NotImplemented,
            });
        let handle = match handler {
            Ok(h) => h,
            Err(e) => {
                error!("cannot register with the Service Control Manager: {e}");
                return;
            }
        };
        let _ = handle.set_service_status(status(ServiceState::Running, 0));
        set_recovery();
        info!("service started");
        let exit = match CONFIG.get().cloned() {
            Some(config) => match run_agent(config, stop_rx) {
                Ok(()) => 0,
                Err(e) => {
                    error!("the agent stopped: {e:#}");
                    1
                }
            },
            None => 1,
        };
        let _ = handle.set_service_status(status(ServiceState::Stopped, exit));
    }

    fn run_agent(
        config: AgentConfig,
        stop: tokio::sync::oneshot::Receiver<()>,
    ) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(crate::run(config, async {
            let _ = stop.await;
        }))
    }
}
