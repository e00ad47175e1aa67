//! The parsed connection options, described for the `client`.
//!
//! `sessions.client` is an ioredis instance built in JavaScript from the same options as the
//! sessions' own connection. The options (connection strings of every scheme, ioredis-style
//! fields) are parsed once, here in Rust, into fred's [`Config`]; this module describes that
//! result so that `index.js` maps it to ioredis's constructor arguments without a second parser
//! that could disagree with the first.

use fred::prelude::{Config, Server, ServerConfig};

/// Which kind of deployment the options name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One server over TCP.
    Single,
    /// One server over a unix socket.
    Unix,
    /// A master found through Redis Sentinel.
    Sentinel,
    /// Redis Cluster.
    Cluster,
}

impl Kind {
    /// The name `index.js` switches on.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Single => "single",
            Kind::Unix => "unix",
            Kind::Sentinel => "sentinel",
            Kind::Cluster => "cluster",
        }
    }
}

/// What the sessions connect to, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub kind: Kind,
    /// `Single`: the server; `Sentinel`: the sentinels; `Cluster`: the seed nodes; `Unix`: none.
    pub nodes: Vec<(String, u16)>,
    /// `Unix`: the socket path.
    pub path: Option<String>,
    /// `Sentinel`: the master group name.
    pub name: Option<String>,
    /// Whether TLS is on (a `rediss…` scheme or the `tls` option). The CA, certificate and key
    /// stay in JavaScript, which hands the caller's own `tls` object to ioredis.
    pub tls: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: Option<u8>,
}

fn node(server: &Server) -> (String, u16) {
    (server.host.to_string(), server.port)
}

/// Describes a parsed configuration.
pub fn describe(config: &Config) -> Connection {
    let (kind, nodes, path, name) = match &config.server {
        ServerConfig::Centralized { server } => (Kind::Single, vec![node(server)], None, None),
        ServerConfig::Unix { path } => (
            Kind::Unix,
            Vec::new(),
            Some(path.to_string_lossy().into_owned()),
            None,
        ),
        ServerConfig::Sentinel {
            hosts,
            service_name,
        } => (
            Kind::Sentinel,
            hosts.iter().map(node).collect(),
            None,
            Some(service_name.clone()),
        ),
        ServerConfig::Clustered { hosts, .. } => {
            (Kind::Cluster, hosts.iter().map(node).collect(), None, None)
        }
    };
    Connection {
        kind,
        nodes,
        path,
        name,
        tls: config.tls.is_some(),
        username: config.username.clone(),
        password: config.password.clone(),
        db: config.database,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_url, Settings};
    use crate::options::{NodeAddress, SessionsOptions, TlsSettings};
    use napi::bindgen_prelude::Either;

    fn url(u: &str) -> Connection {
        describe(&parse_url(u).unwrap())
    }

    fn nodes(list: &[(&str, u16)]) -> Vec<(String, u16)> {
        let mut v: Vec<_> = list.iter().map(|(h, p)| (h.to_string(), *p)).collect();
        v.sort();
        v
    }

    fn sorted(mut c: Connection) -> Connection {
        c.nodes.sort();
        c
    }

    #[test]
    fn every_scheme() {
        assert_eq!(
            url("redis://user:pass@host:6380/2"),
            Connection {
                kind: Kind::Single,
                nodes: nodes(&[("host", 6380)]),
                path: None,
                name: None,
                tls: false,
                username: Some("user".into()),
                password: Some("pass".into()),
                db: Some(2),
            }
        );
        let tls = url("rediss://host");
        assert!(tls.tls);
        assert_eq!(tls.nodes, nodes(&[("host", 6379)]));
        let unix = url("redis+unix:///run/redis.sock");
        assert_eq!(unix.kind, Kind::Unix);
        assert_eq!(unix.path.as_deref(), Some("/run/redis.sock"));
        assert!(unix.nodes.is_empty());
        let sentinel = sorted(url(
            "redis-sentinel://s1:26379?sentinelServiceName=mymaster&node=s2:26380",
        ));
        assert_eq!(sentinel.kind, Kind::Sentinel);
        assert_eq!(sentinel.name.as_deref(), Some("mymaster"));
        assert_eq!(sentinel.nodes, nodes(&[("s1", 26379), ("s2", 26380)]));
        assert!(!sentinel.tls);
        assert!(url("rediss-sentinel://s1?sentinelServiceName=m").tls);
        let cluster = sorted(url("rediss-cluster://n1:7000?node=n2:7001"));
        assert_eq!(cluster.kind, Kind::Cluster);
        assert_eq!(cluster.nodes, nodes(&[("n1", 7000), ("n2", 7001)]));
        assert!(cluster.tls);
    }

    #[test]
    fn options_object() {
        let opts = Settings::parse(SessionsOptions {
            host: Some("h".into()),
            port: Some(6390.0),
            password: Some("p".into()),
            db: Some(3.0),
            tls: Some(Either::B(TlsSettings {
                reject_unauthorized: Some(false),
                ..Default::default()
            })),
            ..Default::default()
        })
        .unwrap();
        let c = describe(&opts.redis);
        assert_eq!(c.kind, Kind::Single);
        assert_eq!(c.nodes, nodes(&[("h", 6390)]));
        assert_eq!(
            (c.password.as_deref(), c.db, c.tls),
            (Some("p"), Some(3), true)
        );
        let opts = Settings::parse(SessionsOptions {
            sentinels: Some(vec![NodeAddress {
                host: Some("s".into()),
                port: None,
            }]),
            name: Some("m".into()),
            ..Default::default()
        })
        .unwrap();
        let c = describe(&opts.redis);
        assert_eq!(
            (c.kind, c.name.as_deref(), c.tls),
            (Kind::Sentinel, Some("m"), false)
        );
        // A node without a port gets the default for its role.
        assert_eq!(c.nodes, nodes(&[("s", 26379)]));
        let opts = Settings::parse(SessionsOptions {
            cluster: Some(vec![NodeAddress::default()]),
            tls: Some(Either::A(true)),
            ..Default::default()
        })
        .unwrap();
        let c = describe(&opts.redis);
        assert_eq!((c.kind, c.tls), (Kind::Cluster, true));
        assert_eq!(c.nodes, nodes(&[("127.0.0.1", 6379)]));
        let opts = Settings::parse(SessionsOptions::default()).unwrap();
        assert_eq!(describe(&opts.redis).nodes, nodes(&[("127.0.0.1", 6379)]));
    }
}
