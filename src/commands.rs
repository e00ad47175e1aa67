//! Arbitrary Redis commands for the ioredis-style `client`: one command, a pipeline, or a
//! `MULTI`/`EXEC` transaction, on the same connection as the session methods.

use fred::prelude::{Client, ClientLike, TransactionInterface, Value};
use fred::types::{ClusterHash, CustomCommand};

use crate::error::{Error, Result};
use crate::reply::{encode_error, encode_into, tag, Reply};

/// One command: its name and its arguments (strings and bytes, already flattened by JS).
#[derive(Debug, Clone)]
pub struct Command {
    pub name: String,
    pub args: Vec<Value>,
}

/// Commands that block the connection until data arrives. fred must know, so that it does not
/// count the wait against the connection's health.
fn is_blocking(name: &str) -> bool {
    const BLOCKING: [&str; 12] = [
        "BLPOP",
        "BRPOP",
        "BRPOPLPUSH",
        "BLMOVE",
        "BLMPOP",
        "BZPOPMIN",
        "BZPOPMAX",
        "BZMPOP",
        "XREAD",
        "XREADGROUP",
        "WAIT",
        "WAITAOF",
    ];
    BLOCKING.iter().any(|b| b.eq_ignore_ascii_case(name))
}

impl Command {
    fn custom(&self) -> CustomCommand {
        // The name goes out as given: Redis is case-insensitive, and its errors then quote the
        // name as the caller wrote it, as with ioredis.
        CustomCommand::new(
            self.name.clone(),
            ClusterHash::FirstKey,
            is_blocking(&self.name),
        )
    }
}

/// A fred error as the client reports it: Redis's own message for error replies.
fn client_error(err: fred::error::Error) -> Error {
    use fred::error::ErrorKind;
    match err.kind() {
        ErrorKind::Unknown
        | ErrorKind::InvalidArgument
        | ErrorKind::InvalidCommand
        | ErrorKind::Auth
        | ErrorKind::Cluster
        | ErrorKind::Config => Error::Reply(err.details().to_string()),
        _ => Error::from(err),
    }
}

/// Runs one command. The raw reply frame is kept, so that nested errors survive.
pub async fn run(client: &Client, cmd: Command) -> Result<Reply> {
    let custom = cmd.custom();
    let frame = client
        .custom_raw::<Value>(custom, cmd.args)
        .await
        .map_err(client_error)?;
    Reply::from_frame(frame).map_err(Error::Reply)
}

/// Runs commands as one pipeline: sent together, answered in order. The reply is an encoded
/// array with one element per command, an error element where that command failed.
pub async fn pipeline(client: &Client, cmds: Vec<Command>) -> Result<Reply> {
    let pipe = client.pipeline();
    for cmd in &cmds {
        pipe.custom::<(), Value>(cmd.custom(), cmd.args.clone())
            .await
            .map_err(client_error)?;
    }
    let results = pipe.try_all::<Value>().await;
    if results.len() != cmds.len() {
        // The whole pipeline failed before any reply (connection lost, timeout).
        let err = results
            .into_iter()
            .find_map(|r| r.err())
            .map(Error::from)
            .unwrap_or_else(|| Error::Connection("the pipeline got no replies".into()));
        return Err(err);
    }
    let mut out = Vec::with_capacity(16 * cmds.len());
    out.push(tag::ARRAY);
    out.extend_from_slice(&(cmds.len() as u32).to_le_bytes());
    for result in results {
        match result {
            Ok(value) => encode_into(&value, &mut out),
            Err(err) => encode_error(&client_error(err).to_string(), &mut out),
        }
    }
    Ok(Reply::Encoded(out))
}

/// Runs commands in `MULTI`/`EXEC`. Resolves to the array of results, or nil when a `WATCH`ed
/// key changed and Redis aborted the transaction.
pub async fn transaction(client: &Client, cmds: Vec<Command>) -> Result<Reply> {
    let trx = client.multi();
    for cmd in &cmds {
        trx.custom::<(), Value>(cmd.custom(), cmd.args.clone())
            .await
            .map_err(client_error)?;
    }
    trx.exec::<Value>(false)
        .await
        .map(|value| match value {
            Value::Null => Reply::Nil,
            other => {
                let mut out = Vec::with_capacity(64);
                encode_into(&other, &mut out);
                Reply::Encoded(out)
            }
        })
        .map_err(client_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_commands_are_flagged_case_insensitively() {
        assert!(is_blocking("blpop"));
        assert!(is_blocking("BZPOPMIN"));
        assert!(!is_blocking("get"));
    }
}
