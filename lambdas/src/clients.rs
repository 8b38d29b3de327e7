//! The AWS clients every action calls through, each built on first use.

use std::any::Any;
use std::sync::{Mutex, OnceLock, PoisonError};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{HttpClient, SharedHttpClient};

use crate::{read_only, tls};

/// The AWS clients, each built on its first use: a function pays at cold start only for the services its
/// action calls. Clients are cheap to clone (they share one handle), so callers get an owned one.
pub struct Clients {
    config: SdkConfig,
    /// At most one client per type; a handful of services, so a list beats a map.
    aws: Mutex<Vec<Box<dyn Any + Send + Sync>>>,
    http: OnceLock<reqwest::Client>,
    /// The clients of `check`s, built on first use; `None` inside them.
    read_only: Option<OnceLock<Box<Clients>>>,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Clients {
        Clients {
            config: config.clone(),
            aws: Mutex::new(Vec::new()),
            http: OnceLock::new(),
            read_only: Some(OnceLock::new()),
        }
    }

    /// The clients a `check` runs on: the same config, with an HTTP client that refuses every AWS operation
    /// that does not read ([`read_only::ReadOnly`]), around the config's own client or the SDK's default.
    pub fn read_only(&self) -> &Clients {
        let Some(built) = &self.read_only else {
            return self;
        };
        built.get_or_init(|| {
            Box::new(Clients {
                read_only: None,
                ..self.wrapped(read_only::ReadOnly::new)
            })
        })
    }

    /// Clients on the same config, whose HTTP client is `wrap` around this one's (or [`tls::https_client`]).
    pub fn wrapped<H: HttpClient + 'static>(
        &self,
        wrap: impl FnOnce(SharedHttpClient) -> H,
    ) -> Clients {
        let inner = self.config.http_client().unwrap_or_else(tls::https_client);
        let config = self.config.to_builder().http_client(wrap(inner)).build();
        Clients::new(&config)
    }

    /// The function's AWS config: its region, credentials and endpoint, for what signs its own requests (an EKS
    /// token).
    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    /// The client of one AWS service, e.g. `clients.aws(aws_sdk_rds::Client::new)`, built by `new` from the
    /// function's config the first time it is asked for.
    pub fn aws<C: Any + Clone + Send + Sync>(&self, new: fn(&SdkConfig) -> C) -> C {
        let mut built = self.aws.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = built.iter().find_map(|c| c.downcast_ref::<C>()) {
            return client.clone();
        }
        let client = new(&self.config);
        built.push(Box::new(client.clone()));
        client
    }

    /// Answers every later `aws::<C>` with `client`: tests point one service at aws-smithy-mocks this way.
    pub fn insert<C: Any + Clone + Send + Sync>(&self, client: C) {
        let mut built = self.aws.lock().unwrap_or_else(PoisonError::into_inner);
        built.retain(|c| !c.is::<C>());
        built.push(Box::new(client));
    }

    /// Built on first use: reqwest reads the CA store again, which only `check.http` functions should pay
    /// for at cold start.
    pub fn http(&self) -> Result<&reqwest::Client, reqwest::Error> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder().build()?;
        Ok(self.http.get_or_init(|| client))
    }
}
