//! The `select!` macro: crossbeam-channel's syntax with Go's semantics.
//!
//! Expansion, for
//! `select! { recv(a) -> v => A, send(b, x) -> r => B, default => C }`:
//!
//! ```text
//! {
//!     let __c0 = &a; let __c0: &Receiver<_> = __c0;   // channel expressions: once, in
//!     let __c1 = &b; let __c1: &Sender<_> = __c1;     // order, deref-coerced
//!     let mut __cases = [Case::recv(__c0), Case::send(__c1)];
//!     match internal::select(&mut __cases, Timeout::Now) {   // Never / Now / after(d)
//!         Some(__op) => { let __i = __op.index();
//!             if __i == 0 { let v = __op.recv(__c0); (A) }
//!             else if __i == 1 { let r = __op.send(__c1, x); (B) }   // x evaluated only here
//!             else { unreachable!() } }
//!         None => (C),
//!     }
//! }
//! ```
//!
//! Bodies are spliced in place (not closures), so `break`, `continue`,
//! `return` and `?` inside them act on the surrounding code, as in Go's
//! `for { select { ... } }`. Per-case names come from a fixed list, which
//! caps a `select!` at 32 cases (use [`crate::Select`] beyond that).

/// Waits on several channel operations and runs the one that completes.
///
/// ```text
/// select! {
///     recv(rx) -> v => ...,            // v: Option<T>; None = rx closed and drained
///     send(tx, value) -> res => ...,   // res: Result<(), SendError<T>>
///     default => ...,                  // run if nothing is ready now (optional;
///                                      // `default()` is accepted too)
///     default(duration) => ...,        // or: wait at most `duration`, then run this
/// }
/// ```
///
/// * Ready cases are chosen uniformly at random; if none is ready (and there
///   is no `default`) the caller parks until one is. Exactly one case runs.
/// * A channel expression is anything that dereferences to a
///   [`Receiver`](crate::Receiver) / [`Sender`](crate::Sender): the handle,
///   `&rx`, an `Arc<Receiver<T>>`, a struct behind `Deref`.
/// * With `default`, the select is linearizable with completed operations:
///   if a send on one of its channels returned before the select started,
///   the select does not take `default` (unless another receiver took the
///   value).
/// * Channel expressions are evaluated once, in order, on entry. A send's
///   *value* expression is evaluated only if that case is chosen, so a losing
///   send case takes nothing from you; keep that expression short and
///   non-blocking (an unbuffered partner is waiting for it, and on a
///   buffered channel the slot it will fill holds up non-blocking receives
///   and the drop of the last receiver).
/// * A receive on a closed channel is always ready (with `None`), as in Go;
///   use [`never()`](crate::never) in place of a channel to disable a case
///   (Go's nil channel).
/// * A select with no cases and no default blocks forever (Go's `select {}`).
///
/// ```
/// use goro_chan::{chan, select};
/// use std::time::Duration;
///
/// let (tx, rx) = chan::<i32>(1);
/// let (done_tx, done_rx) = chan::<()>(0);
/// tx.send(7).unwrap();
/// let got = select! {
///     recv(rx) -> v => v,
///     recv(done_rx) -> _ => None,
///     default(Duration::from_millis(100)) => None,
/// };
/// assert_eq!(got, Some(7));
/// drop(done_tx);
/// ```
///
/// Handles behind references and smart pointers, and crossbeam's
/// `default()`:
///
/// ```
/// use goro_chan::{chan, select};
/// use std::sync::Arc;
///
/// let (tx, rx) = chan::<i32>(1);
/// let shared = Arc::new(rx);
/// let tx_ref = &tx;
/// select! {
///     send(tx_ref, 1) -> r => r.unwrap(),
///     default() => unreachable!("there is room"),
/// }
/// let got = select! {
///     recv(shared) -> v => v,
///     default() => None,
/// };
/// assert_eq!(got, Some(1));
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select!(@list () ($($tokens)*))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select {
    // ---- @list: normalise every case to [kind (args)... (body)] ----
    (@list ($($c:tt)*) ()) => {
        $crate::__select!(@bind () () ($($c)*)
            (__c0 __c1 __c2 __c3 __c4 __c5 __c6 __c7 __c8 __c9 __c10 __c11 __c12 __c13 __c14 __c15
             __c16 __c17 __c18 __c19 __c20 __c21 __c22 __c23 __c24 __c25 __c26 __c27 __c28 __c29 __c30 __c31)
            (0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31))
    };
    (@list ($($c:tt)*) (recv($r:expr) -> $p:pat => $b:block , $($t:tt)*)) => {
        $crate::__select!(@list ($($c)* [recv ($r) ($p) ($b)]) ($($t)*))
    };
    (@list ($($c:tt)*) (recv($r:expr) -> $p:pat => $b:block $($t:tt)*)) => {
        $crate::__select!(@list ($($c)* [recv ($r) ($p) ($b)]) ($($t)*))
    };
    (@list ($($c:tt)*) (recv($r:expr) -> $p:pat => $b:expr , $($t:tt)*)) => {
        $crate::__select!(@list ($($c)* [recv ($r) ($p) ($b)]) ($($t)*))
    };
    (@list ($($c:tt)*) (recv($r:expr) -> $p:pat => $b:expr)) => {
        $crate::__select!(@list ($($c)* [recv ($r) ($p) ($b)]) ())
    };
    (@list ($($c:tt)*) (send($s:expr, $v:expr) -> $p:pat => $b:block , $($t:tt)*)) => {
        $crate::__select!(@list ($($c)* [send ($s) ($v) ($p) ($b)]) ($($t)*))
    };
    (@list ($($c:tt)*) (send($s:expr, $v:expr) -> $p:pat => $b:block $($t:tt)*)) => {
        $crate::__select!(@list ($($c)* [send ($s) ($v) ($p) ($b)]) ($($t)*))
    };
    (@list ($($c:tt)*) (send($s:expr, $v:expr) -> $p:pat => $b:expr , $($t:tt)*)) => {
        $crate::__select!(@list ($($c)* [send ($s) ($v) ($p) ($b)]) ($($t)*))
    };
    (@list ($($c:tt)*) (send($s:expr, $v:expr) -> $p:pat => $b:expr)) => {
        $crate::__select!(@list ($($c)* [send ($s) ($v) ($p) ($b)]) ())
    };
    // crossbeam's spelling: `default()` is `default`.
    (@list ($($c:tt)*) (default() => $($t:tt)*)) => {
        $crate::__select!(@list ($($c)*) (default => $($t)*))
    };
    (@list ($($c:tt)*) (default($d:expr) => $b:block , $($t:tt)*)) => {
        $crate::__select!(@list ($($c)* [default ($d) ($b)]) ($($t)*))
    };
    (@list ($($c:tt)*) (default($d:expr) => $b:block $($t:tt)*)) => {
        $crate::__select!(@list ($($c)* [default ($d) ($b)]) ($($t)*))
    };
    (@list ($($c:tt)*) (default($d:expr) => $b:expr , $($t:tt)*)) => {
        $crate::__select!(@list ($($c)* [default ($d) ($b)]) ($($t)*))
    };
    (@list ($($c:tt)*) (default($d:expr) => $b:expr)) => {
        $crate::__select!(@list ($($c)* [default ($d) ($b)]) ())
    };
    (@list ($($c:tt)*) (default => $b:block , $($t:tt)*)) => {
        $crate::__select!(@list ($($c)* [default () ($b)]) ($($t)*))
    };
    (@list ($($c:tt)*) (default => $b:block $($t:tt)*)) => {
        $crate::__select!(@list ($($c)* [default () ($b)]) ($($t)*))
    };
    (@list ($($c:tt)*) (default => $b:expr , $($t:tt)*)) => {
        $crate::__select!(@list ($($c)* [default () ($b)]) ($($t)*))
    };
    (@list ($($c:tt)*) (default => $b:expr)) => {
        $crate::__select!(@list ($($c)* [default () ($b)]) ())
    };
    (@list ($($c:tt)*) ($($t:tt)+)) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `recv(rx) -> pat => body`, `send(tx, value) -> pat => body`, ",
            "`default => body` or `default(timeout) => body`, found: ",
            ::core::stringify!($($t)+)
        ))
    };

    // ---- @bind: give each channel case a name and an index ----
    (@bind ($($out:tt)*) ($($def:tt)*) () $ids:tt $ns:tt) => {
        $crate::__select!(@emit ($($out)*) ($($def)*))
    };
    (@bind $out:tt ($($def:tt)*) ([default $($d:tt)*] $($rest:tt)*) $ids:tt $ns:tt) => {
        $crate::__select!(@bind $out ($($def)* [default $($d)*]) ($($rest)*) $ids $ns)
    };
    (@bind ($($out:tt)*) $def:tt ([$kind:ident $($args:tt)*] $($rest:tt)*)
        ($id:ident $($ids:ident)*) ($n:tt $($ns:tt)*)) => {
        $crate::__select!(@bind ($($out)* [$kind $id $n $($args)*]) $def ($($rest)*) ($($ids)*) ($($ns)*))
    };
    (@bind $out:tt $def:tt ($($rest:tt)+) () ()) => {
        ::core::compile_error!("select!: at most 32 channel cases; use goro_chan::Select for more")
    };

    // ---- @emit: the select itself ----
    (@emit $cases:tt ()) => {
        $crate::__select!(@go $cases ($crate::internal::Timeout::Never) (::core::unreachable!("select! without default always picks a case")))
    };
    (@emit $cases:tt ([default () $b:tt])) => {
        $crate::__select!(@go $cases ($crate::internal::Timeout::Now) $b)
    };
    (@emit $cases:tt ([default ($d:expr) $b:tt])) => {
        $crate::__select!(@go $cases ($crate::internal::Timeout::after($d)) $b)
    };
    (@emit $cases:tt ($($def:tt)+)) => {
        ::core::compile_error!("select!: more than one `default` case")
    };

    (@go () $timeout:tt $default:tt) => {{
        match $crate::internal::select(&mut [], $timeout) {
            ::core::option::Option::Some(_) => ::core::unreachable!("no cases"),
            ::core::option::Option::None => $default,
        }
    }};
    (@go ($($case:tt)+) $timeout:tt $default:tt) => {{
        $crate::__select!(@lets $($case)+);
        let mut __cases = [$($crate::__select!(@case $case)),+];
        match $crate::internal::select(&mut __cases, $timeout) {
            ::core::option::Option::Some(__op) => {
                let __i = __op.index();
                $crate::__select!(@complete __op __i $($case)+)
            }
            ::core::option::Option::None => $default,
        }
    }};

    (@lets) => {};
    // A reference to the channel expression, then coerced to
    // `&Receiver<_>` / `&Sender<_>`: deref coercion accepts the handle
    // itself, `&rx`, `Arc<Receiver<T>>`, a field behind `Deref`, any depth
    // of those. Two steps, so that the expected type does not reach into
    // the expression (a block ending in `&rx` would be asked for a
    // `Receiver`).
    (@lets [recv $id:ident $n:tt ($r:expr) $p:tt $b:tt] $($rest:tt)*) => {
        let $id = &$r;
        let $id: &$crate::Receiver<_> = $id;
        $crate::__select!(@lets $($rest)*);
    };
    (@lets [send $id:ident $n:tt ($s:expr) $v:tt $p:tt $b:tt] $($rest:tt)*) => {
        let $id = &$s;
        let $id: &$crate::Sender<_> = $id;
        $crate::__select!(@lets $($rest)*);
    };

    (@case [recv $id:ident $($x:tt)*]) => { $crate::internal::Case::recv($id) };
    (@case [send $id:ident $($x:tt)*]) => { $crate::internal::Case::send($id) };

    (@complete $op:ident $i:ident) => {
        ::core::unreachable!("select! picked a case that does not exist")
    };
    (@complete $op:ident $i:ident [recv $id:ident $n:tt $r:tt ($p:pat) $b:tt] $($rest:tt)*) => {
        if $i == $n {
            let $p = $op.recv($id);
            $b
        } else {
            $crate::__select!(@complete $op $i $($rest)*)
        }
    };
    (@complete $op:ident $i:ident [send $id:ident $n:tt $s:tt ($v:expr) ($p:pat) $b:tt] $($rest:tt)*) => {
        if $i == $n {
            let $p = $op.send($id, $v);
            $b
        } else {
            $crate::__select!(@complete $op $i $($rest)*)
        }
    };
}
