//! Support code for the `entry!` / `entry_raw!` macros. Not a stable API.
//!
//! The handler's return type picks its behaviour by autoref specialization: `(&&Wrap(out))`
//! first matches the `Result<T, E: Display>` impl (on `&&Wrap<_>`), then the plain
//! `T: Serialize` one (on `&Wrap<_>`).

use std::fmt::Display;
use std::io::{Read, Write};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Exit code when the handler returned `Err`.
pub const EXIT_HANDLER_ERROR: i32 = 1;
/// Exit code when the input could not be read or deserialized, or the result serialized.
pub const EXIT_BAD_IO: i32 = 2;

fn fail(code: i32, msg: &dyn Display) -> ! {
    let _ = std::io::stdout().flush();
    let mut err = std::io::stderr();
    let _ = writeln!(err, "{msg}");
    let _ = err.flush();
    std::process::exit(code)
}

pub fn read_stdin() -> Vec<u8> {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        fail(EXIT_BAD_IO, &format_args!("reading stdin: {e}"));
    }
    input
}

/// Deserializes JSON input; see `entry!` for how empty input is treated.
pub fn parse_json_input<T: DeserializeOwned>(input: &[u8]) -> Result<T, serde_json::Error> {
    if input.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice(b"null").or_else(|_| serde_json::from_slice(b"{}"))
    } else {
        serde_json::from_slice(input)
    }
}

pub fn read_json_input<T: DeserializeOwned>() -> T {
    match parse_json_input(&read_stdin()) {
        Ok(v) => v,
        Err(e) => fail(EXIT_BAD_IO, &format_args!("invalid input: {e}")),
    }
}

fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        fail(EXIT_BAD_IO, &format_args!("writing stdout: {e}"));
    }
}

fn write_json<T: Serialize + ?Sized>(value: &T) {
    match serde_json::to_vec(value) {
        Ok(mut bytes) => {
            bytes.push(b'\n');
            write_stdout(&bytes);
        }
        Err(e) => fail(EXIT_BAD_IO, &format_args!("serializing the result: {e}")),
    }
}

pub struct Wrap<T>(pub T);

pub trait FinishJsonResult {
    fn __nexus_finish(self);
}
impl<T: Serialize, E: Display> FinishJsonResult for &&Wrap<Result<T, E>> {
    fn __nexus_finish(self) {
        match &self.0 {
            Ok(v) => write_json(v),
            Err(e) => fail(EXIT_HANDLER_ERROR, e),
        }
    }
}

pub trait FinishJson {
    fn __nexus_finish(self);
}
impl<T: Serialize> FinishJson for &Wrap<T> {
    fn __nexus_finish(self) {
        write_json(&self.0)
    }
}

pub struct RawWrap<T>(pub T);

pub trait FinishRawResult {
    fn __nexus_finish(self);
}
impl<T: AsRef<[u8]>, E: Display> FinishRawResult for &&RawWrap<Result<T, E>> {
    fn __nexus_finish(self) {
        match &self.0 {
            Ok(v) => write_stdout(v.as_ref()),
            Err(e) => fail(EXIT_HANDLER_ERROR, e),
        }
    }
}

pub trait FinishRaw {
    fn __nexus_finish(self);
}
impl<T: AsRef<[u8]>> FinishRaw for &RawWrap<T> {
    fn __nexus_finish(self) {
        write_stdout(self.0.as_ref())
    }
}
