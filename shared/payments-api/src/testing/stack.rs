//! The live stack (feature `live-stack`), modelled on zero2prod's `spawn_app()`: the Glase sandbox in
//! process on loopback, a fresh dynoxide table, the protocol gateway to the sandbox
//! (`GlaseSettings::sandbox`), an [`App`] over them, and the app behind [`crate::serve`] on a loopback
//! port of its own, where the sandbox sends its notifications.
//!
//! [`live_stack`] starts one with the defaults; its builder changes the few things tests vary: the
//! clocks, the Glase client's timeouts, the use-case settings, where the metric lines go, and whether
//! notifications reach the app at all.

use std::io::Write;
use std::sync::Arc;

use axum::Router;
use glase_protocol::{GlaseClient, GlaseClientConfig};
use glase_sandbox::{EventKind, FaultRules, SandboxConfig, SandboxHandle};
use payments_domain::ports::{Clock, GlaseGateway, PaymentStore, PortTypes, Ports};
use payments_domain::usecases::{Deps, UseCaseSettings};
use payments_dynamodb::DynamoStore;
use payments_dynamodb::testing::{Backend, TestTable};
use payments_glase::{GlaseSettings, ProtocolGateway};
use payments_sqs::InMemoryQueue;
use payments_sqs::queue::REFUND_QUEUE;

use super::app_over;
use crate::app::{App, QueuedMessage};
use crate::wiring::{AnyPush, AnyQueue, OsRandom, SystemClock};

/// The ports of a stack whose store and gateway are `S` and `G`, on the app clock `C`.
pub type StackPorts<S, G, C> = (S, G, AnyQueue, AnyPush, C, OsRandom);

/// The app of an undecorated stack: the dynoxide store, the gateway on the clock `G`, the app on `C`.
pub type StackApp<C, G = C> = App<StackPorts<DynamoStore, ProtocolGateway<G>, C>>;

/// Where the app's notification URLs point when notifications are not to reach it: the discard port,
/// on which nothing listens.
const NOWHERE: &str = "http://127.0.0.1:9";

/// A running stack. Dropping it stops the table's server; [`LiveStack::finish`] also checks the
/// sandbox's events and stops the sandbox.
pub struct LiveStack<P: PortTypes> {
    /// The app (also served over HTTP at [`LiveStack::base`] unless built without notifications).
    pub app: Arc<App<P>>,
    /// The Glase sandbox.
    pub sandbox: SandboxHandle,
    /// The refund queue.
    pub queue: InMemoryQueue,
    /// The served app's base URL, which the notification URLs point at.
    pub base: String,
    /// The table.
    pub table: TestTable,
}

/// How to build a [`LiveStack`]: see [`live_stack`].
pub struct StackBuilder<C, G = C> {
    key: String,
    clock: C,
    gateway_clock: G,
    client: GlaseClientConfig,
    settings: UseCaseSettings,
    master_secret: String,
    metrics: Box<dyn Write + Send>,
    notifications: bool,
}

/// A stack accepting the API key `key`, on the system clock, with the default client and use-case
/// settings, dropping its metric lines, its app served where its notifications go.
pub fn live_stack(key: &str) -> StackBuilder<SystemClock> {
    StackBuilder {
        key: key.to_owned(),
        clock: SystemClock,
        gateway_clock: SystemClock,
        client: GlaseClientConfig::new(String::new()),
        settings: UseCaseSettings::default(),
        master_secret: "live stack master secret".to_owned(),
        metrics: Box::new(std::io::sink()),
        notifications: true,
    }
}

impl<C, G> StackBuilder<C, G> {
    /// The app and the gateway on `clock`.
    pub fn clock<K: Clone>(self, clock: K) -> StackBuilder<K, K> {
        let gateway_clock = clock.clone();
        self.clocks(clock, gateway_clock)
    }

    /// The app on `clock`, the gateway on `gateway_clock`.
    pub fn clocks<K, L>(self, clock: K, gateway_clock: L) -> StackBuilder<K, L> {
        StackBuilder {
            key: self.key,
            clock,
            gateway_clock,
            client: self.client,
            settings: self.settings,
            master_secret: self.master_secret,
            metrics: self.metrics,
            notifications: self.notifications,
        }
    }

    /// The Glase client's configuration as `change` leaves it (its endpoint becomes the sandbox's).
    pub fn client(mut self, change: impl FnOnce(&mut GlaseClientConfig)) -> Self {
        change(&mut self.client);
        self
    }

    /// The use-case settings as `change` leaves them (the public base URL becomes the stack's).
    pub fn settings(mut self, change: impl FnOnce(&mut UseCaseSettings)) -> Self {
        change(&mut self.settings);
        self
    }

    /// The secret the point-of-sale terminals' passwords derive from.
    pub fn master_secret(mut self, secret: &str) -> Self {
        secret.clone_into(&mut self.master_secret);
        self
    }

    /// The app's metric lines go to `out`.
    pub fn metrics(mut self, out: impl Write + Send + 'static) -> Self {
        self.metrics = Box::new(out);
        self
    }

    /// The app is not served and its notification URLs point where nothing listens: a payment is
    /// confirmed only by reading it (or by the safety net).
    pub fn without_notifications(mut self) -> Self {
        self.notifications = false;
        self
    }
}

impl<C, G> StackBuilder<C, G>
where
    C: Clock + Clone + 'static,
    G: Clock + Clone + 'static,
{
    /// Starts the stack.
    pub async fn start(self) -> LiveStack<StackPorts<DynamoStore, ProtocolGateway<G>, C>> {
        self.start_with(|store, glase| (store, glase), crate::serve::app_router)
            .await
    }

    /// Starts the stack with its store and gateway wrapped by `decorate`, served by the router `route`
    /// makes of the app (usually [`crate::serve::app_router`], or one that also observes each request).
    pub async fn start_with<S, Gw>(
        self,
        decorate: impl FnOnce(DynamoStore, ProtocolGateway<G>) -> (S, Gw),
        route: impl FnOnce(Arc<App<StackPorts<S, Gw, C>>>) -> Router,
    ) -> LiveStack<StackPorts<S, Gw, C>>
    where
        S: PaymentStore + 'static,
        Gw: GlaseGateway + 'static,
    {
        let sandbox = glase_sandbox::spawn(SandboxConfig::default(), ([127, 0, 0, 1], 0).into())
            .await
            .expect("the sandbox starts");
        let table = TestTable::new(Backend::Dynoxide).await;
        let queue = InMemoryQueue::new(REFUND_QUEUE);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("a bound port"));
        let mut client = self.client;
        client.endpoint = sandbox.soap_endpoint_url();
        let gateway = ProtocolGateway::new(
            GlaseClient::new(client).expect("a Glase client"),
            GlaseSettings::sandbox(&self.master_secret),
            self.gateway_clock,
        );
        let (store, glase) = decorate(
            DynamoStore::new(table.client.clone(), table.table_name.clone()),
            gateway,
        );
        let mut settings = self.settings;
        settings.public_base_url = if self.notifications {
            base.clone()
        } else {
            NOWHERE.to_owned()
        };
        let deps = Deps {
            store,
            glase,
            queue: AnyQueue::Memory(queue.clone()),
            push: AnyPush::None,
            clock: self.clock,
            ids: OsRandom::with_process_key(),
            settings,
        };
        let app = Arc::new(app_over(deps, &self.key, self.metrics));
        if self.notifications {
            let router = route(Arc::clone(&app));
            tokio::spawn(async move {
                let _ = axum::serve(listener, router).await;
            });
        }
        LiveStack {
            app,
            sandbox,
            queue,
            base,
            table,
        }
    }
}

impl<P: Ports> LiveStack<P> {
    /// The kinds of the sandbox's events so far, in order.
    pub fn events(&self) -> Vec<EventKind> {
        self.sandbox
            .sandbox()
            .events(None)
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    /// What `pick` takes from the sandbox's events so far, in order.
    pub fn picked<T>(&self, pick: impl FnMut(EventKind) -> Option<T>) -> Vec<T> {
        self.events().into_iter().filter_map(pick).collect()
    }

    /// How many of the sandbox's events so far are `kind`.
    pub fn count(&self, kind: impl Fn(&EventKind) -> bool) -> usize {
        self.events().iter().filter(|e| kind(e)).count()
    }

    /// Sets the sandbox's fault rules from their JSON form (`{"rules": [...]}`).
    pub fn set_faults(&self, rules: serde_json::Value) {
        let rules: FaultRules = serde_json::from_value(rules).expect("fault rules");
        self.sandbox
            .sandbox()
            .set_faults(&rules)
            .expect("the sandbox takes the rules");
    }

    /// Runs the refund worker over every queued message, deleting the handled ones; answers the ids of
    /// the failed ones.
    pub async fn work(&self) -> Vec<String> {
        let deliveries = self.queue.receive(10);
        let messages: Vec<QueuedMessage> = deliveries.iter().map(QueuedMessage::from).collect();
        let failed = self.app.process_refund_messages(&messages).await.failed;
        for d in deliveries.iter().filter(|d| !failed.contains(&d.message_id)) {
            self.queue
                .delete(&d.receipt_handle)
                .expect("a received message can be deleted");
        }
        failed
    }

    /// Checks that the sandbox reversed no payment (our side was up the whole time) and stops it.
    pub async fn finish(self) {
        assert_eq!(
            self.count(|e| matches!(e, EventKind::PaymentReversed { .. })),
            0,
            "no payment may be reversed while our side is up"
        );
        self.shutdown().await;
    }

    /// Stops the sandbox.
    pub async fn shutdown(self) {
        self.sandbox.shutdown().await;
    }
}
