//! How `Sender` and `Receiver` take part in a select: the
//! [`SelectHandle`] protocol of `select.rs` (claim, register, accept,
//! abandon) and the completion of a reservation, dispatched to the
//! channel's flavor.
//!
//! Invariants: every method forwards to the flavor that owns the channel's
//! state (`array.rs`, `zero.rs`); a `never()` channel is never ready and
//! never chosen. `try_select_now` is the
//! claim that waits out operations caught half-way (`array.rs`, rule L1),
//! for selects that will not wait. A reservation is completed exactly once:
//! by `complete_send` / `complete_recv`, or released by `abandon`.
//!
//! Alternatives rejected: a trait object per flavor (one more indirection
//! on every case, where the plain methods already `match` on the enum);
//! these impls in `channel.rs` or `select.rs` (the first outgrows its
//! size, the second would import the channel internals that import it:
//! an import circle).

use crate::channel::Flavor;
use crate::context::{Context, Entry};
use crate::error::SendError;
use crate::select::{SelectHandle, Token};
use crate::zero::Read;
use crate::{Receiver, Sender};

impl<T> Sender<T> {
    /// Completes a send reservation with `msg` (`SelectedOperation::send`);
    /// the value comes back if the channel was closed when it was made.
    pub(crate) fn complete_send(&self, token: &mut Token, msg: T) -> Result<(), SendError<T>> {
        // SAFETY: the token holds a reservation made on this channel by
        // `try_select`/`accept`, completed exactly once here.
        let r = unsafe {
            match &self.chan {
                Flavor::Array(a) => a.write(token, msg),
                Flavor::Zero(z) => z.write(token, msg),
                Flavor::Never(_) => unreachable!("a never_sender() case is never chosen"),
            }
        };
        r.map_err(SendError)
    }
}

impl<T> Receiver<T> {
    /// Completes a receive reservation (`SelectedOperation::recv`): `None`
    /// if the channel was closed and drained when it was made.
    pub(crate) fn complete_recv(&self, token: &mut Token) -> Option<T> {
        // SAFETY: the token holds a reservation made on this channel by
        // `try_select`/`accept`, completed exactly once here.
        unsafe {
            match &self.chan {
                Flavor::Array(a) => a.read(token),
                Flavor::Zero(z) => match z.read(token) {
                    Read::Msg(m) => Some(m),
                    Read::Closed => None,
                    // The claimed sender's value expression panicked: the
                    // case was chosen, so receive from this channel normally.
                    Read::Retry => z.recv(None).unwrap_or(None),
                },
                Flavor::Never(_) => unreachable!("a never() case is never chosen"),
            }
        }
    }
}

impl<T> SelectHandle for Receiver<T> {
    fn try_select(&self, token: &mut Token) -> bool {
        match &self.chan {
            Flavor::Array(a) => a.start_recv(token),
            Flavor::Zero(z) => z.start_recv(token),
            Flavor::Never(_) => false,
        }
    }

    fn try_select_now(&self, token: &mut Token) -> bool {
        match &self.chan {
            Flavor::Array(a) => a.start_recv_now(token),
            Flavor::Zero(z) => z.start_recv(token),
            Flavor::Never(_) => false,
        }
    }

    unsafe fn register(&self, oper: usize, cx: &Context, slot: &mut Option<Entry>) -> bool {
        match &self.chan {
            Flavor::Array(a) => {
                let e = slot.insert(Entry::new(oper, cx, std::ptr::null_mut(), false));
                // SAFETY: forwarded contract: the entry stays put.
                unsafe { a.receivers().register(e) };
                a.recv_ready()
            }
            // SAFETY: forwarded contract.
            Flavor::Zero(z) => unsafe { z.register_recv(oper, cx, slot) },
            Flavor::Never(_) => {
                *slot = Some(Entry::new(oper, cx, std::ptr::null_mut(), false));
                false
            }
        }
    }

    unsafe fn unregister(&self, entry: &mut Entry) {
        match &self.chan {
            // SAFETY: forwarded contract.
            Flavor::Array(a) => unsafe { a.receivers().unregister(entry) },
            // SAFETY: forwarded contract.
            Flavor::Zero(z) => unsafe { z.unregister(entry, false) },
            Flavor::Never(_) => {}
        }
    }

    unsafe fn accept(&self, token: &mut Token, entry: &mut Entry) -> bool {
        match &self.chan {
            Flavor::Array(a) => a.start_recv(token),
            // SAFETY: forwarded contract.
            Flavor::Zero(z) => unsafe { z.accept_recv(token, entry.packet) },
            Flavor::Never(_) => false,
        }
    }

    unsafe fn abandon(&self, token: &mut Token) {
        drop(self.complete_recv(token));
    }

    fn is_send(&self) -> bool {
        false
    }
}

impl<T> SelectHandle for Sender<T> {
    fn try_select(&self, token: &mut Token) -> bool {
        match &self.chan {
            Flavor::Array(a) => a.start_send(token),
            Flavor::Zero(z) => z.start_send(token),
            Flavor::Never(_) => false,
        }
    }

    fn try_select_now(&self, token: &mut Token) -> bool {
        match &self.chan {
            Flavor::Array(a) => a.start_send_now(token),
            Flavor::Zero(z) => z.start_send(token),
            Flavor::Never(_) => false,
        }
    }

    unsafe fn register(&self, oper: usize, cx: &Context, slot: &mut Option<Entry>) -> bool {
        match &self.chan {
            Flavor::Array(a) => {
                let e = slot.insert(Entry::new(oper, cx, std::ptr::null_mut(), false));
                // SAFETY: forwarded contract: the entry stays put.
                unsafe { a.senders().register(e) };
                a.send_ready()
            }
            // SAFETY: forwarded contract.
            Flavor::Zero(z) => unsafe { z.register_send(oper, cx, slot) },
            Flavor::Never(_) => {
                *slot = Some(Entry::new(oper, cx, std::ptr::null_mut(), false));
                false
            }
        }
    }

    unsafe fn unregister(&self, entry: &mut Entry) {
        match &self.chan {
            // SAFETY: forwarded contract.
            Flavor::Array(a) => unsafe { a.senders().unregister(entry) },
            // SAFETY: forwarded contract.
            Flavor::Zero(z) => unsafe { z.unregister(entry, true) },
            Flavor::Never(_) => {}
        }
    }

    unsafe fn accept(&self, token: &mut Token, entry: &mut Entry) -> bool {
        match &self.chan {
            // Woken by a receiver that freed room and reserved it for us
            // (`array/blocking.rs`, rule H2).
            // SAFETY: forwarded contract: claimed for this case.
            Flavor::Array(a) => unsafe { a.accept_reserved(token, entry.packet) },
            // SAFETY: forwarded contract.
            Flavor::Zero(z) => unsafe { z.accept_send(token, entry.packet) },
            Flavor::Never(_) => false,
        }
    }

    unsafe fn abandon(&self, token: &mut Token) {
        // SAFETY: forwarded contract.
        unsafe {
            match &self.chan {
                Flavor::Array(a) => a.abandon_send(token),
                Flavor::Zero(z) => z.abandon_send(token),
                Flavor::Never(_) => {}
            }
        }
    }

    fn is_send(&self) -> bool {
        true
    }
}
