//! `meshroute_mesh`: configuration text loaded and compiled into a routing
//! table, with the messages loading produced.

use crate::ffi::{
    guard, meshroute_status, meshroute_str, out_required, str_in, write_out, Failure,
};
use crate::handle::{self, Kind, Tagged};
use meshroute_core::{Mesh, Message, Severity};
use std::os::raw::c_char;
use std::sync::OnceLock;

/// A compiled configuration. Opaque; create with `meshroute_mesh_new`,
/// release with `meshroute_mesh_free`. Shareable by threads for deciding.
pub struct meshroute_mesh {
    _private: [u8; 0],
}

/// What a mesh handle holds.
pub(crate) struct MeshState {
    /// Shared with the decisions made from it, which borrow from it.
    pub mesh: std::sync::Arc<Mesh>,
    messages: Vec<Message>,
    messages_json: OnceLock<String>,
}

impl Kind for MeshState {
    const MAGIC: u64 = u64::from_be_bytes(*b"mr-mesh1");
    const NAME: &'static str = "mesh";
}

pub(crate) fn as_tagged(mesh: *const meshroute_mesh) -> *const Tagged<MeshState> {
    mesh.cast()
}

/// How serious a message is.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum meshroute_severity {
    /// Informational; nothing to fix.
    MESHROUTE_SEVERITY_INFO = 0,
    /// Accepted by Istio, but probably not what was meant.
    MESHROUTE_SEVERITY_WARNING = 1,
    /// Istio would reject the resource, or traffic cannot work as written.
    MESHROUTE_SEVERITY_ERROR = 2,
}

/// One diagnostic about the configuration. Every string is borrowed from
/// the mesh; empty when the message has no such part.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshroute_message {
    /// Istio analyzer code (`IST0101`) or meshroute code (`MR0001` ...).
    pub code: meshroute_str,
    /// Severity.
    pub severity: meshroute_severity,
    /// `Kind namespace/name`, or empty for messages about the text itself.
    pub resource: meshroute_str,
    /// Field path inside the resource (`spec.http[0].route[1].weight`), or empty.
    pub field_path: meshroute_str,
    /// Input name given to `meshroute_mesh_new`.
    pub file: meshroute_str,
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column, 0 when unknown.
    pub column: u32,
    /// What is wrong.
    pub text: meshroute_str,
    /// How to fix it, or empty.
    pub fix: meshroute_str,
}

fn severity_out(s: Severity) -> meshroute_severity {
    match s {
        Severity::Info => meshroute_severity::MESHROUTE_SEVERITY_INFO,
        Severity::Warning => meshroute_severity::MESHROUTE_SEVERITY_WARNING,
        Severity::Error => meshroute_severity::MESHROUTE_SEVERITY_ERROR,
    }
}

/// Loads YAML (one or more documents) or JSON configuration text and
/// compiles it. Loading never fails on bad configuration: resources with
/// errors are left out and the problems are messages (see
/// `meshroute_mesh_message`). `name` (may be empty: `<inline>`) is the file
/// name messages show. On success `*out` is a new mesh; on failure NULL.
///
/// # Safety
/// `text`/`name` must point to `text_len`/`name_len` readable bytes (or be
/// NULL with length 0); `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn meshroute_mesh_new(
    text: *const c_char,
    text_len: usize,
    name: *const c_char,
    name_len: usize,
    out: *mut *mut meshroute_mesh,
) -> meshroute_status {
    guard("meshroute_mesh_new", || {
        out_required("out", out)?;
        // SAFETY: `out` checked non-NULL; the caller guarantees it is writable.
        unsafe { out.write(std::ptr::null_mut()) };
        // SAFETY: the caller's contract for both strings.
        let text = unsafe { str_in("text", text, text_len) }?;
        let name = unsafe { str_in("name", name, name_len) }?;
        let name = if name.is_empty() { "<inline>" } else { name };
        let config = meshroute_core::load::load_str(text, name);
        // SAFETY: checked above.
        unsafe { out.write(compiled(&config).cast()) };
        Ok(())
    })
}

/// A new mesh handle for a loaded configuration.
fn compiled(config: &meshroute_core::model::Config) -> *mut Tagged<MeshState> {
    let state = MeshState {
        mesh: std::sync::Arc::new(Mesh::compile(config)),
        messages: meshroute_core::check(config),
        messages_json: OnceLock::new(),
    };
    handle::into_handle::<MeshState, _>(state)
}

/// `meshroute_mesh_new` with Istio's MeshConfig: `mesh_config` is its YAML
/// (what istiod reads from its `--meshConfig` file, e.g.
/// `outboundTrafficPolicy: {mode: REGISTRY_ONLY}`), named `mesh_config_name`
/// in messages (may be empty: `<mesh-config>`). It replaces a ConfigMap
/// `istio-system/istio` among the configuration; its problems are messages
/// of the mesh like the configuration's. An empty `mesh_config` (length 0)
/// gives none, as `meshroute_mesh_new` does.
///
/// # Safety
/// Every string must point to its length of readable bytes (or be NULL with
/// length 0); `out` must be writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn meshroute_mesh_new_with_mesh_config(
    text: *const c_char,
    text_len: usize,
    name: *const c_char,
    name_len: usize,
    mesh_config: *const c_char,
    mesh_config_len: usize,
    mesh_config_name: *const c_char,
    mesh_config_name_len: usize,
    out: *mut *mut meshroute_mesh,
) -> meshroute_status {
    guard("meshroute_mesh_new_with_mesh_config", || {
        out_required("out", out)?;
        // SAFETY: `out` checked non-NULL; the caller guarantees it is writable.
        unsafe { out.write(std::ptr::null_mut()) };
        // SAFETY: the caller's contract for every string.
        let text = unsafe { str_in("text", text, text_len) }?;
        let name = unsafe { str_in("name", name, name_len) }?;
        let mesh_text = unsafe { str_in("mesh_config", mesh_config, mesh_config_len) }?;
        let mesh_name =
            unsafe { str_in("mesh_config_name", mesh_config_name, mesh_config_name_len) }?;
        let mesh = compile_text(text, name, mesh_text, mesh_name, Default::default());
        // SAFETY: checked above.
        unsafe { out.write(mesh) };
        Ok(())
    })
}

/// Loads `text` (and a mesh config, when `mesh_text` is not empty) within
/// `limits` and compiles it: what every `meshroute_mesh_new_with_*` makes.
fn compile_text(
    text: &str,
    name: &str,
    mesh_text: &str,
    mesh_name: &str,
    limits: meshroute_core::limits::Limits,
) -> *mut meshroute_mesh {
    let name = if name.is_empty() { "<inline>" } else { name };
    let mesh_name = if mesh_name.is_empty() {
        "<mesh-config>"
    } else {
        mesh_name
    };
    let options = meshroute_core::load::LoadOptions {
        limits,
        ..meshroute_core::load::LoadOptions::default()
    };
    let input = meshroute_core::load::Input { name, text };
    let mut config = meshroute_core::load::load(&[input], &options);
    if !mesh_text.is_empty() {
        config.add_mesh_config_file(mesh_text, mesh_name);
    }
    compiled(&config).cast()
}

/// `meshroute_mesh_new_with_mesh_config` within `limits` (from
/// `meshroute_limits_new`, copied; NULL for the defaults): the text is
/// loaded, checked and compiled within them, and the mesh decides requests
/// within their request limits. A limit the text exceeds is an error
/// message (`MR0005`) naming it and how to raise it.
///
/// # Safety
/// As `meshroute_mesh_new_with_mesh_config`; `limits` NULL or a live limits
/// handle.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn meshroute_mesh_new_with_limits(
    text: *const c_char,
    text_len: usize,
    name: *const c_char,
    name_len: usize,
    mesh_config: *const c_char,
    mesh_config_len: usize,
    mesh_config_name: *const c_char,
    mesh_config_name_len: usize,
    limits: *const crate::limits::meshroute_limits,
    out: *mut *mut meshroute_mesh,
) -> meshroute_status {
    guard("meshroute_mesh_new_with_limits", || {
        out_required("out", out)?;
        // SAFETY: `out` checked non-NULL; the caller guarantees it is writable.
        unsafe { out.write(std::ptr::null_mut()) };
        let limits = if limits.is_null() {
            meshroute_core::limits::Limits::default()
        } else {
            // SAFETY: caller contract.
            unsafe { crate::limits::limits_ref(limits) }?.clone()
        };
        // SAFETY: the caller's contract for every string.
        let text = unsafe { str_in("text", text, text_len) }?;
        let name = unsafe { str_in("name", name, name_len) }?;
        let mesh_text = unsafe { str_in("mesh_config", mesh_config, mesh_config_len) }?;
        let mesh_name =
            unsafe { str_in("mesh_config_name", mesh_config_name, mesh_config_name_len) }?;
        let mesh = compile_text(text, name, mesh_text, mesh_name, limits);
        // SAFETY: checked above.
        unsafe { out.write(mesh) };
        Ok(())
    })
}

/// Frees a mesh. NULL is a no-op. Returns `MESHROUTE_STATUS_INVALID_HANDLE`
/// (and does nothing) for a mesh already freed. Decisions made from the
/// mesh stay valid. Must not race with other calls on the same mesh.
///
/// # Safety
/// `mesh` must be NULL or a pointer from `meshroute_mesh_new`.
#[no_mangle]
pub unsafe extern "C" fn meshroute_mesh_free(mesh: *mut meshroute_mesh) -> meshroute_status {
    guard("meshroute_mesh_free", || {
        // SAFETY: forwarded contract; the registry refuses non-live pointers.
        unsafe { handle::free::<MeshState, MeshState>(mesh.cast()) }
    })
}

/// Borrows a mesh's state.
///
/// # Safety
/// As `handle::borrow`.
pub(crate) unsafe fn mesh_ref<'a>(mesh: *const meshroute_mesh) -> Result<&'a MeshState, Failure> {
    // SAFETY: forwarded contract.
    unsafe { handle::borrow::<MeshState, MeshState>(as_tagged(mesh)) }
}

/// Number of messages loading produced. Thread-safe.
///
/// # Safety
/// `mesh` must be a live mesh (or NULL); `out` writable (or NULL).
#[no_mangle]
pub unsafe extern "C" fn meshroute_mesh_message_count(
    mesh: *const meshroute_mesh,
    out: *mut usize,
) -> meshroute_status {
    guard("meshroute_mesh_message_count", || {
        // SAFETY: caller contract.
        let state = unsafe { mesh_ref(mesh) }?;
        unsafe { write_out("out", out, state.messages.len()) }
    })
}

/// Whether any message is an error (some resource was left out or is
/// wrong). Thread-safe.
///
/// # Safety
/// `mesh` must be a live mesh (or NULL); `out` writable (or NULL).
#[no_mangle]
pub unsafe extern "C" fn meshroute_mesh_has_errors(
    mesh: *const meshroute_mesh,
    out: *mut bool,
) -> meshroute_status {
    guard("meshroute_mesh_has_errors", || {
        // SAFETY: caller contract.
        let state = unsafe { mesh_ref(mesh) }?;
        let any = state.messages.iter().any(Message::is_error);
        unsafe { write_out("out", out, any) }
    })
}

/// The message at `index` (below `meshroute_mesh_message_count`); strings
/// are borrowed from the mesh. Thread-safe.
///
/// # Safety
/// `mesh` must be a live mesh (or NULL); `out` writable (or NULL).
#[no_mangle]
pub unsafe extern "C" fn meshroute_mesh_message(
    mesh: *const meshroute_mesh,
    index: usize,
    out: *mut meshroute_message,
) -> meshroute_status {
    guard("meshroute_mesh_message", || {
        // SAFETY: caller contract.
        let state = unsafe { mesh_ref(mesh) }?;
        out_required("out", out)?;
        let m = state
            .messages
            .get(index)
            .ok_or_else(|| Failure::out_of_range(index, state.messages.len(), "messages"))?;
        let view = meshroute_message {
            code: meshroute_str::borrow(&m.code),
            severity: severity_out(m.severity),
            resource: meshroute_str::borrow(&m.resource),
            field_path: meshroute_str::borrow(&m.field_path),
            file: meshroute_str::borrow(&m.source.file),
            line: m.source.location.line,
            column: m.source.location.column,
            text: meshroute_str::borrow(&m.text),
            fix: meshroute_str::borrow(&m.fix),
        };
        unsafe { write_out("out", out, view) }
    })
}

/// All messages as a JSON array (the `meshroute check --json` shape:
/// `code`, `severity`, `resource`, `fieldPath`, `source{file,line,column}`,
/// `text`, `fix`), borrowed from the mesh. Thread-safe.
///
/// # Safety
/// `mesh` must be a live mesh (or NULL); `out` writable (or NULL).
#[no_mangle]
pub unsafe extern "C" fn meshroute_mesh_messages_json(
    mesh: *const meshroute_mesh,
    out: *mut meshroute_str,
) -> meshroute_status {
    guard("meshroute_mesh_messages_json", || {
        // SAFETY: caller contract.
        let state = unsafe { mesh_ref(mesh) }?;
        out_required("out", out)?;
        let json = state.messages_json.get_or_init(|| {
            serde_json::to_string(&state.messages).unwrap_or_else(|_| "[]".to_string())
        });
        unsafe { write_out("out", out, meshroute_str::borrow(json)) }
    })
}
