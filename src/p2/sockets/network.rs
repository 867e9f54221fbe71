//! `wasi:sockets/network` and `wasi:sockets/instance-network`.

use wasmtime::component::Resource;

use super::{SocketError, code_of};
use crate::WasiCtx;
use crate::p2::bindings::wasi::sockets::network::ErrorCode;
use crate::p2::bindings::wasi::sockets::{instance_network, network};
use crate::p2::io::IoError;

/// A `wasi:sockets/network.network`: the capability to use the network under the context's
/// [`NetworkPolicy`](crate::net::NetworkPolicy). Every one is the same network.
#[derive(Debug)]
pub struct Network;

impl network::Host for WasiCtx {
    fn convert_error_code(&mut self, err: SocketError) -> wasmtime::Result<ErrorCode> {
        match err {
            SocketError::Code(c) => Ok(c),
            SocketError::Trap(e) => Err(e),
        }
    }

    /// The socket error code of a stream error that came from a socket; `none` for the errors
    /// of files and stdio.
    fn network_error_code(&mut self, err: Resource<IoError>) -> wasmtime::Result<Option<ErrorCode>> {
        let e = self.table.get(&err)?;
        Ok(e.socket.then(|| code_of(e.errno)))
    }
}

impl network::HostNetwork for WasiCtx {
    fn drop(&mut self, n: Resource<Network>) -> wasmtime::Result<()> {
        self.table.delete(n)?;
        Ok(())
    }
}

impl instance_network::Host for WasiCtx {
    fn instance_network(&mut self) -> wasmtime::Result<Resource<Network>> {
        Ok(self.table.push(Network)?)
    }
}
