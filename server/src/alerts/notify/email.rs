//! E-mailing an alert over `[smtp]` with lettre: STARTTLS, TLS or plain, with a login when
//! configured; a temporary refusal (4xx) or a connection failure is retried like a webhook.

use std::time::Duration;

use idlewatch_protocol::api::{AlertNotification, AlertState};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Attempt, text_of};
use crate::config::{SmtpConfig, SmtpTls};

/// How long one conversation with the mail server may take.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The mail server and the sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// Parses one address of the configuration.
///
/// # Errors
/// A sentence naming the address.
pub fn mailbox(address: &str) -> Result<Mailbox, String> {
    address
        .parse()
        .map_err(|e| format!("{address:?} is not an e-mail address ({e})"))
}

impl Mailer {
    /// The mailer of `smtp`, with the password read from its file.
    ///
    /// # Errors
    /// A sentence saying what to fix: an unreadable password file, a bad sender address or
    /// host name.
    pub fn new(smtp: &SmtpConfig) -> Result<Self, String> {
        let builder = match smtp.tls {
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host),
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
            SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &smtp.host,
            )),
        }
        .map_err(|e| format!("smtp.host {:?} cannot be used: {e}", smtp.host))?;
        let port = smtp.port.unwrap_or(match smtp.tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        });
        let mut builder = builder.port(port).timeout(Some(SMTP_TIMEOUT));
        if let Some(user) = &smtp.username {
            let password = match &smtp.password_file {
                Some(path) => std::fs::read_to_string(path)
                    .map_err(|e| {
                        format!(
                            "cannot read smtp.password_file {}: {e}; create it (mode 0600) with \
                             the mail account's password",
                            path.display()
                        )
                    })?
                    .trim_end()
                    .to_owned(),
                None => String::new(),
            };
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Self {
            transport: builder.build(),
            from: mailbox(&smtp.from).map_err(|e| format!("smtp.from: {e}"))?,
        })
    }

    /// One attempt at mailing `n` to `to`.
    pub async fn send(&self, to: &[Mailbox], n: &AlertNotification) -> Attempt {
        let subject = format!(
            "[idlewatch] {} {}{}",
            n.alert,
            match n.state {
                AlertState::Firing => "firing",
                AlertState::Resolved => "resolved",
            },
            n.host
                .as_deref()
                .or(n.group.as_deref())
                .map(|s| format!(": {s}"))
                .unwrap_or_default()
        );
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        for address in to {
            message = message.to(address.clone());
        }
        let message = match message.body(format!("{}\n", text_of(n))) {
            Ok(m) => m,
            Err(e) => return Attempt::Fail(format!("cannot build the e-mail: {e}")),
        };
        match self.transport.send(message).await {
            Ok(_) => Attempt::Done,
            Err(e) if e.is_permanent() => Attempt::Fail(format!(
                "the mail server refused the e-mail: {e}; check smtp.from and the addresses"
            )),
            Err(e) => Attempt::Retry(format!("cannot e-mail the alert: {e}")),
        }
    }
}
