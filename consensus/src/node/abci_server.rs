//! The ABCI socket server CometBFT's connections (consensus, mempool, query, snapshot) talk to.
//!
//! Same wire format as `tendermint_abci::Server` (varint length-prefixed protobuf `Request` /
//! `Response`, one thread per connection, the `Application` trait), different I/O policy:
//!
//! - **Responses are buffered** and written when no further request is already buffered, instead
//!   of one `write` + flush per response. CometBFT pipelines asynchronous requests (CheckTx and
//!   the re-check of every pending transaction after each block) and then waits; answering a
//!   batch with one write instead of thousands is most of what this module is for.
//! - **`TCP_NODELAY`**: a response larger than one segment (a `FinalizeBlock` with hundreds of
//!   results) would otherwise leave its tail behind Nagle's algorithm until the peer's delayed
//!   ACK.
//! - **Bounded frames**: a length prefix above [`MAX_ABCI_MESSAGE_BYTES`] closes the connection
//!   with an error instead of allocating it; a request without a value gets an `Exception`
//!   response and the connection is closed (the library server panics on it).
//!
//! Order is preserved: responses are written in the order requests were read, as CometBFT's
//! client requires.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};

use prost::Message;
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci::{request, response, Request, Response, ResponseException};
use thiserror::Error;
use tracing::{debug, error, info};

const TARGET: &str = "nexus::abci_server";

/// Largest request frame accepted: a proposal carries at most `BLOCK_MAX_BYTES` (≈ 9.4 MiB) of
/// transactions plus the extended commit, far below this.
pub const MAX_ABCI_MESSAGE_BYTES: usize = 64 << 20;
/// Read window of each connection.
pub const ABCI_READ_BUF_BYTES: usize = 1 << 20;
/// Responses buffered before a write even while requests are still queued.
pub const ABCI_WRITE_BUF_BYTES: usize = 256 << 10;
/// A varint of a `usize` length has at most this many bytes.
const MAX_VARINT_BYTES: usize = 10;

#[derive(Debug, Error)]
pub enum AbciConnError {
    #[error("connection I/O: {0}")]
    Io(#[from] io::Error),
    #[error("malformed length prefix")]
    BadLength,
    #[error("request of {len} bytes exceeds the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("undecodable request: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("request without a value")]
    Empty,
}

/// A bound ABCI listener.
pub struct AbciServer {
    listener: TcpListener,
}

impl AbciServer {
    pub fn bind(addr: &str) -> io::Result<AbciServer> {
        Ok(AbciServer {
            listener: TcpListener::bind(addr)?,
        })
    }

    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections forever, one thread each; returns only if accepting fails.
    pub fn serve<A: Application + Clone + Send + 'static>(self, app: A) -> io::Result<()> {
        loop {
            let (stream, peer) = self.listener.accept()?;
            let app = app.clone();
            std::thread::Builder::new()
                .name("abci".into())
                .spawn(move || {
                    debug!(target: TARGET, %peer, "ABCI connection");
                    match serve_connection(stream, &app) {
                        Ok(()) => info!(target: TARGET, %peer, "ABCI connection closed"),
                        Err(e) => {
                            error!(target: TARGET, %peer, error = %e, "ABCI connection failed")
                        }
                    }
                })?;
        }
    }
}

/// Serves one connection until the peer closes it (`Ok`) or sends something unusable (`Err`).
pub fn serve_connection<A: Application>(stream: TcpStream, app: &A) -> Result<(), AbciConnError> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::with_capacity(ABCI_READ_BUF_BYTES, stream.try_clone()?);
    let mut writer = BufWriter::with_capacity(ABCI_WRITE_BUF_BYTES, stream);
    let mut frame = Vec::new();
    let mut out = Vec::new();
    loop {
        let request = match read_request(&mut reader, &mut frame) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(e) => {
                writer.flush().ok();
                return Err(e);
            }
        };
        let (response, fatal) = match dispatch(app, request) {
            Ok(response) => (response, None),
            Err(e) => (
                Response {
                    value: Some(response::Value::Exception(ResponseException {
                        error: e.to_string(),
                    })),
                },
                Some(e),
            ),
        };
        out.clear();
        response
            .encode_length_delimited(&mut out)
            .expect("a Vec grows to fit any message");
        writer.write_all(&out)?;
        if let Some(e) = fatal {
            writer.flush()?;
            return Err(e);
        }
        // Answer a batch with one write: flush once no further request is already buffered.
        if reader.buffer().is_empty() {
            writer.flush()?;
        }
    }
}

/// Reads one length-prefixed request; `None` at a clean end of stream (between frames).
/// `frame` is a reusable buffer.
pub fn read_request<R: BufRead>(
    reader: &mut R,
    frame: &mut Vec<u8>,
) -> Result<Option<Request>, AbciConnError> {
    let Some(len) = read_length(reader)? else {
        return Ok(None);
    };
    if len > MAX_ABCI_MESSAGE_BYTES {
        return Err(AbciConnError::TooLarge {
            len,
            max: MAX_ABCI_MESSAGE_BYTES,
        });
    }
    frame.clear();
    frame.resize(len, 0);
    reader.read_exact(frame)?;
    Ok(Some(Request::decode(frame.as_slice())?))
}

/// Reads an unsigned LEB128 varint; `None` if the stream ends before its first byte.
fn read_length<R: Read>(reader: &mut R) -> Result<Option<usize>, AbciConnError> {
    let mut value: u64 = 0;
    for i in 0..MAX_VARINT_BYTES {
        let mut byte = [0u8; 1];
        if reader.read(&mut byte)? == 0 {
            return if i == 0 {
                Ok(None)
            } else {
                Err(io::Error::from(io::ErrorKind::UnexpectedEof).into())
            };
        }
        let bits = u64::from(byte[0] & 0x7f);
        if i == MAX_VARINT_BYTES - 1 && byte[0] > 1 {
            return Err(AbciConnError::BadLength);
        }
        value |= bits << (7 * i);
        if byte[0] & 0x80 == 0 {
            return usize::try_from(value)
                .map(Some)
                .map_err(|_| AbciConnError::BadLength);
        }
    }
    Err(AbciConnError::BadLength)
}

fn dispatch<A: Application>(app: &A, request: Request) -> Result<Response, AbciConnError> {
    use request::Value as Req;
    use response::Value as Res;
    let value = match request.value.ok_or(AbciConnError::Empty)? {
        Req::Echo(r) => Res::Echo(app.echo(r)),
        Req::Flush(_) => Res::Flush(app.flush()),
        Req::Info(r) => Res::Info(app.info(r)),
        Req::InitChain(r) => Res::InitChain(app.init_chain(r)),
        Req::Query(r) => Res::Query(app.query(r)),
        Req::CheckTx(r) => Res::CheckTx(app.check_tx(r)),
        Req::Commit(_) => Res::Commit(app.commit()),
        Req::ListSnapshots(_) => Res::ListSnapshots(app.list_snapshots()),
        Req::OfferSnapshot(r) => Res::OfferSnapshot(app.offer_snapshot(r)),
        Req::LoadSnapshotChunk(r) => Res::LoadSnapshotChunk(app.load_snapshot_chunk(r)),
        Req::ApplySnapshotChunk(r) => Res::ApplySnapshotChunk(app.apply_snapshot_chunk(r)),
        Req::PrepareProposal(r) => Res::PrepareProposal(app.prepare_proposal(r)),
        Req::ProcessProposal(r) => Res::ProcessProposal(app.process_proposal(r)),
        Req::ExtendVote(r) => Res::ExtendVote(app.extend_vote(r)),
        Req::VerifyVoteExtension(r) => Res::VerifyVoteExtension(app.verify_vote_extension(r)),
        Req::FinalizeBlock(r) => Res::FinalizeBlock(app.finalize_block(r)),
    };
    Ok(Response { value: Some(value) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tendermint_proto::v0_38::abci::{
        RequestCheckTx, RequestEcho, RequestFlush, ResponseCheckTx,
    };

    /// Answers CheckTx with the transaction's length as the code.
    #[derive(Clone)]
    struct LengthApp;
    impl Application for LengthApp {
        fn check_tx(&self, request: RequestCheckTx) -> ResponseCheckTx {
            ResponseCheckTx {
                code: request.tx.len() as u32,
                ..Default::default()
            }
        }
    }

    fn frame(request: &Request) -> Vec<u8> {
        request.encode_length_delimited_to_vec()
    }

    fn check_tx(len: usize) -> Request {
        Request {
            value: Some(request::Value::CheckTx(RequestCheckTx {
                tx: vec![7u8; len].into(),
                r#type: 0,
            })),
        }
    }

    fn read_response(stream: &mut BufReader<TcpStream>) -> Response {
        let len = read_length(stream).unwrap().unwrap();
        let mut buf = vec![0u8; len];
        stream.read_exact(&mut buf).unwrap();
        Response::decode(buf.as_slice()).unwrap()
    }

    fn server() -> std::net::SocketAddr {
        let server = AbciServer::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        std::thread::spawn(move || server.serve(LengthApp));
        addr
    }

    #[test]
    fn pipelined_requests_are_answered_in_order() {
        let addr = server();
        let mut stream = TcpStream::connect(addr).unwrap();
        let mut bytes = Vec::new();
        for len in [1usize, 5, 300, 70_000] {
            bytes.extend(frame(&check_tx(len)));
        }
        bytes.extend(frame(&Request {
            value: Some(request::Value::Flush(RequestFlush {})),
        }));
        stream.write_all(&bytes).unwrap();
        let mut reader = BufReader::new(stream);
        for len in [1u32, 5, 300, 70_000] {
            match read_response(&mut reader).value {
                Some(response::Value::CheckTx(r)) => assert_eq!(r.code, len),
                other => panic!("expected CheckTx, got {other:?}"),
            }
        }
        assert!(matches!(
            read_response(&mut reader).value,
            Some(response::Value::Flush(_))
        ));
    }

    #[test]
    fn a_bad_frame_closes_only_its_connection() {
        let addr = server();
        // A length prefix beyond the limit: the connection is closed without a response.
        let mut bad = TcpStream::connect(addr).unwrap();
        let mut prefix = Vec::new();
        prost::encoding::encode_varint((MAX_ABCI_MESSAGE_BYTES + 1) as u64, &mut prefix);
        bad.write_all(&prefix).unwrap();
        let mut rest = Vec::new();
        assert_eq!(bad.read_to_end(&mut rest).unwrap(), 0);
        // A request without a value: an Exception, then the connection closes.
        let mut empty = TcpStream::connect(addr).unwrap();
        empty.write_all(&frame(&Request { value: None })).unwrap();
        let mut reader = BufReader::new(empty);
        assert!(matches!(
            read_response(&mut reader).value,
            Some(response::Value::Exception(_))
        ));
        // Other connections are unaffected.
        let mut good = TcpStream::connect(addr).unwrap();
        good.write_all(&frame(&Request {
            value: Some(request::Value::Echo(RequestEcho {
                message: "still here".into(),
            })),
        }))
        .unwrap();
        let mut reader = BufReader::new(good);
        match read_response(&mut reader).value {
            Some(response::Value::Echo(e)) => assert_eq!(e.message, "still here"),
            other => panic!("expected Echo, got {other:?}"),
        }
    }

    proptest! {
        /// Framing round-trips every length, and arbitrary bytes never panic the reader.
        #[test]
        fn length_prefixes_round_trip(len in 0usize..(1 << 40)) {
            let mut buf = Vec::new();
            prost::encoding::encode_varint(len as u64, &mut buf);
            prop_assert_eq!(read_length(&mut buf.as_slice()).unwrap(), Some(len));
        }

        #[test]
        fn arbitrary_streams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut reader = BufReader::new(bytes.as_slice());
            let mut frame = Vec::new();
            for _ in 0..8 {
                match read_request(&mut reader, &mut frame) {
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
}
