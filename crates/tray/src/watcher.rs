//! Whether the desktop shows tray icons: a StatusNotifierWatcher on the
//! session bus that says a host (a panel) is registered.

use std::time::Duration;

const WATCHER: &str = "org.kde.StatusNotifierWatcher";

/// How long the bus may take to answer.
const WITHIN: Duration = Duration::from_secs(5);

pub async fn host_present() -> Result<bool, String> {
    tokio::time::timeout(WITHIN, ask())
        .await
        .map_err(|_| "the session bus did not answer".to_owned())?
}

/// Whether a StatusNotifierWatcher owns its name on the session bus.
pub async fn watcher_present() -> Result<bool, String> {
    tokio::time::timeout(WITHIN, async {
        let connection = zbus::Connection::session()
            .await
            .map_err(|e| format!("no session bus ({e})"))?;
        has_watcher(&connection).await
    })
    .await
    .map_err(|_| "the session bus did not answer".to_owned())?
}

async fn has_watcher(connection: &zbus::Connection) -> Result<bool, String> {
    let dbus = zbus::fdo::DBusProxy::new(connection)
        .await
        .map_err(|e| e.to_string())?;
    let name = zbus::names::BusName::try_from(WATCHER).map_err(|e| e.to_string())?;
    dbus.name_has_owner(name).await.map_err(|e| e.to_string())
}

async fn ask() -> Result<bool, String> {
    let connection = zbus::Connection::session()
        .await
        .map_err(|e| format!("no session bus ({e})"))?;
    if !has_watcher(&connection).await? {
        return Ok(false);
    }
    let watcher = zbus::Proxy::new(&connection, WATCHER, "/StatusNotifierWatcher", WATCHER)
        .await
        .map_err(|e| e.to_string())?;
    watcher
        .get_property::<bool>("IsStatusNotifierHostRegistered")
        .await
        .map_err(|e| format!("the tray watcher did not say whether a host is there ({e})"))
}
