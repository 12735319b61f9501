//! Who carries out an admin action (`unsuppress`, `unsubscribe`): recorded with the action so
//! that the trace can say who lifted a suppression or presented a token, and why.

/// The OS user running this process, as `name (uid N)`; just `uid N` when the user database
/// has no entry for it. The embedded runtime's actor: whoever can write the data dir.
pub fn os_user() -> String {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    match user_name(uid) {
        Some(name) => format!("{name} (uid {uid})"),
        None => format!("uid {uid}"),
    }
}

/// The login name of `uid`, from the user database (getpwuid_r), when it has one.
fn user_name(uid: libc::uid_t) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    // SAFETY: a zeroed passwd is a valid value for getpwuid_r to overwrite.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call, and `buf.len()` is the buffer's size;
    // on success `pwd`'s strings point into `buf`, which outlives their use below.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success pw_name is a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    let name = name.to_string_lossy().into_owned();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_os_user_names_this_process_uid() {
        // SAFETY: as above.
        let uid = unsafe { libc::getuid() };
        let actor = os_user();
        assert!(actor.ends_with(&format!("uid {uid})")) || actor == format!("uid {uid}"));
    }
}
