//! Sandbox mode (`ai-dialer serve --sandbox`): in-process stand-ins for VAPI, Cal.com and
//! Resend on loopback, speaking their real wire formats, so a newcomer sees the whole loop
//! (calls, bookings, emails) without accounts. Our real clients talk to them unchanged; the
//! fake VAPI plays each call out through our real webhook with a configurable mix of outcomes.
//! Refused when real keys are configured.

mod calcom;
mod resend;
mod vapi;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::Serialize;
use tokio::net::TcpListener;

use crate::config::Secret;

/// How calls end in the sandbox, as relative weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeMix(Vec<(Outcome, u32)>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Booked,
    NoAnswer,
    Voicemail,
    NotInterested,
    DoNotCall,
}

impl Outcome {
    fn parse(name: &str) -> Option<Outcome> {
        Some(match name.trim() {
            "booked" => Outcome::Booked,
            "no_answer" => Outcome::NoAnswer,
            "voicemail" => Outcome::Voicemail,
            "not_interested" => Outcome::NotInterested,
            "do_not_call" => Outcome::DoNotCall,
            _ => return None,
        })
    }
}

impl Default for OutcomeMix {
    fn default() -> Self {
        OutcomeMix(vec![
            (Outcome::Booked, 35),
            (Outcome::NoAnswer, 25),
            (Outcome::Voicemail, 10),
            (Outcome::NotInterested, 25),
            (Outcome::DoNotCall, 5),
        ])
    }
}

impl std::str::FromStr for OutcomeMix {
    type Err = String;

    /// `booked=35,no_answer=25,voicemail=10,not_interested=25,do_not_call=5`
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut mix = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not name=weight"))?;
            let outcome = Outcome::parse(name).ok_or_else(|| {
                format!(
                    "{name:?} is not booked, no_answer, voicemail, not_interested or do_not_call"
                )
            })?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("{weight:?} is not a whole number"))?;
            mix.push((outcome, weight));
        }
        if mix.iter().map(|(_, w)| w).sum::<u32>() == 0 {
            return Err("give at least one outcome a weight above zero".into());
        }
        Ok(OutcomeMix(mix))
    }
}

impl OutcomeMix {
    fn pick(&self) -> Outcome {
        use rand::Rng;
        let total: u32 = self.0.iter().map(|(_, w)| w).sum();
        let mut n = rand::thread_rng().gen_range(0..total.max(1));
        for (outcome, weight) in &self.0 {
            if n < *weight {
                return *outcome;
            }
            n -= weight;
        }
        Outcome::NoAnswer
    }
}

/// An email the sandbox's Resend "sent".
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SandboxEmail {
    pub id: String,
    pub to: Vec<String>,
    pub from: String,
    pub subject: String,
    pub text: String,
    pub received_at: String,
}

/// The running fakes and what they have seen.
#[derive(Clone)]
pub struct Sandbox {
    pub vapi_base: String,
    pub calcom_base: String,
    pub resend_base: String,
    /// Key every fake expects, like a real provider's API key.
    pub api_key: Secret,
    /// Secret the fake VAPI sends with its webhooks.
    pub webhook_secret: Secret,
    pub emails: Arc<Mutex<Vec<SandboxEmail>>>,
}

/// Sandbox knobs.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Where our VAPI webhook is (`http://127.0.0.1:PORT/api/integrations/vapi`).
    pub webhook_url: String,
    pub mix: OutcomeMix,
    /// How long a simulated call takes from dial to report.
    pub call_length: Duration,
}

/// Whether a request to a fake carries the sandbox's key, as a real provider checks its own.
fn has_key(headers: &axum::http::HeaderMap, key: &Secret) -> bool {
    crate::http::auth::bearer(headers)
        .is_some_and(|token| crate::auth::constant_time_eq(token, key.expose()))
}

async fn listen() -> std::io::Result<(TcpListener, String)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    Ok((listener, base))
}

impl Sandbox {
    /// Starts the three fakes on loopback ports.
    pub async fn start(options: SandboxOptions) -> std::io::Result<Sandbox> {
        let api_key = Secret::new(format!("sandbox_{}", crate::auth::random_token()));
        let webhook_secret = Secret::new(crate::auth::random_token());
        let emails = Arc::new(Mutex::new(Vec::new()));

        let (calcom_listener, calcom_base) = listen().await?;
        let calcom_state = calcom::State::new(api_key.clone());
        tokio::spawn(async move {
            let _ = axum::serve(calcom_listener, calcom::router(calcom_state)).await;
        });

        let (resend_listener, resend_base) = listen().await?;
        let resend_state = resend::State {
            api_key: api_key.clone(),
            emails: emails.clone(),
        };
        tokio::spawn(async move {
            let _ = axum::serve(resend_listener, resend::router(resend_state)).await;
        });

        let (vapi_listener, vapi_base) = listen().await?;
        let vapi_state = vapi::State::new(api_key.clone(), webhook_secret.clone(), options);
        tokio::spawn(async move {
            let _ = axum::serve(vapi_listener, vapi::router(vapi_state)).await;
        });

        Ok(Sandbox {
            vapi_base,
            calcom_base,
            resend_base,
            api_key,
            webhook_secret,
            emails,
        })
    }

    /// Client settings that point our real clients at the fakes.
    pub fn vapi_config(&self) -> crate::integrations::vapi::VapiConfig {
        crate::integrations::vapi::VapiConfig {
            base_url: self.vapi_base.clone(),
            api_key: self.api_key.clone(),
            assistant_id: "sandbox-assistant".into(),
            phone_number_id: "sandbox-phone-number".into(),
            timeout: Duration::from_secs(10),
        }
    }

    pub fn calcom_config(&self) -> crate::integrations::calcom::CalcomConfig {
        crate::integrations::calcom::CalcomConfig {
            base_url: self.calcom_base.clone(),
            api_key: self.api_key.clone(),
            event_type_id: calcom::EVENT_TYPE_ID,
            timeout: Duration::from_secs(10),
        }
    }

    pub fn resend_config(&self) -> crate::integrations::resend::ResendConfig {
        crate::integrations::resend::ResendConfig {
            base_url: self.resend_base.clone(),
            api_key: self.api_key.clone(),
            from: "AI Dialer Sandbox <sandbox@example.invalid>".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes_parse_and_refuse_nonsense() {
        let mix: OutcomeMix = "booked=1,no_answer=0".parse().unwrap();
        assert!((0..50).all(|_| mix.pick() == Outcome::Booked));
        assert!("booked=x".parse::<OutcomeMix>().is_err());
        assert!("hung_up=3".parse::<OutcomeMix>().is_err());
        assert!("booked=0".parse::<OutcomeMix>().is_err());
    }
}
