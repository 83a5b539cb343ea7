//! [`Help`]: the one way an Oasis error says what the user can do about it.
//!
//! Every error type that has advice implements it, from the protocol core up to the app, so a
//! front-end shows any error's advice the same way (`oasis-cli`'s `hint:` line and JSON `hint` key,
//! the app's error screen). It lives here because this crate is the base every other Oasis
//! crate builds on; `oasis-package`, `oasis-transport` and `oasis-engine` re-export it.

use std::borrow::Cow;

/// What a user can try next about an error.
///
/// The shape fits every error: most advice is a fixed sentence (`Cow::Borrowed` of a
/// `&'static str`), some is carried inside the error (borrowed from `self`), some is put
/// together from the error's fields (`Cow::Owned`). `None` means there is nothing specific to
/// try (an OS error without a known cause, say); a front-end then shows only the message.
/// Take an owned line with `e.help().map(Cow::into_owned)`.
///
/// Advice is one plain sentence in lower case, without a final full stop (the app's own errors
/// are whole sentences), naming the flag, file or button that helps.
pub trait Help {
    /// What to try next, when something specific helps.
    fn help(&self) -> Option<Cow<'_, str>>;
}
