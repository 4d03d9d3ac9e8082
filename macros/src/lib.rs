//! `#[goro::main]` and `#[goro::test]`: attribute macros for the goro
//! runtime, re-exported by the `goro` crate (use them as `goro::main` and
//! `goro::test`).
//!
//! Both move the function's body into a closure run as a coroutine:
//! `#[goro::main]` through `goro::run` (the body is the main coroutine),
//! `#[goro::test]` through `goro::testing::run_test` (leak check and
//! timeout). Arguments are checked at compile time; a bad one is an error
//! pointing at it.
//!
//! Invariant: the expansion names only `::goro` paths and `core`, so it
//! works wherever the user's crate depends on `goro`.
//!
//! Alternatives rejected: `macro_rules!` wrappers (they cannot take a whole
//! `fn` item with its attributes and return type cleanly), and parsing the
//! timeout at run time (a typo would surface only when the test runs).

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::{ItemFn, LitInt, LitStr, parse_macro_input};

/// Runs `fn main` as goro's main coroutine (Go's `func main`): the body
/// runs in `goro::run`, so it may block on channels and `join` freely and
/// its return value is `main`'s. `#[goro::main(maxprocs = 4)]` sets
/// GOMAXPROCS first (like calling `runtime.GOMAXPROCS(4)` at the top of
/// Go's `main`; it overrides the `GOMAXPROCS` variable).
///
/// The return type must be `Send` (it travels from the coroutine to the
/// main thread): return `Result<(), Box<dyn Error + Send + Sync>>` rather
/// than `Box<dyn Error>`.
///
/// ```
/// #[goro::main(maxprocs = 2)]
/// fn main() {
///     assert_eq!(goro::maxprocs(), 2);
///     let h = goro::go!(|| 6 * 7);
///     assert_eq!(h.join().unwrap(), 42);
/// }
/// # // Doc tests call `main` themselves when they define one.
/// ```
///
/// # Errors (at compile time)
///
/// An argument other than `maxprocs = <integer from 1>`, or a function
/// with parameters or `async`.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut maxprocs: Option<LitInt> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("maxprocs") {
            let n: LitInt = meta.value()?.parse()?;
            if n.base10_parse::<usize>().map_or(true, |v| v == 0) {
                return Err(syn::Error::new(
                    n.span(),
                    "maxprocs must be a whole number from 1",
                ));
            }
            maxprocs = Some(n);
            Ok(())
        } else {
            Err(meta.error("unknown #[goro::main] argument; expected `maxprocs = N`"))
        }
    });
    parse_macro_input!(args with parser);
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = match parse_fn(item, "goro::main") {
        Ok(f) => f,
        Err(e) => return e.to_compile_error().into(),
    };
    let ret = &sig.output;
    let set_procs = maxprocs.map(|n| {
        quote! {
            ::goro::set_maxprocs(#n).expect("#[goro::main(maxprocs)]");
        }
    });
    quote! {
        #(#attrs)*
        #vis #sig {
            #set_procs
            ::goro::run(move || #ret #block)
        }
    }
    .into()
}

/// Runs a test's body as a coroutine, with Go's `goleak` check built in:
/// the test fails if coroutines it spawned (directly or not) are still
/// alive when it returns, after a grace period (`goro::testing::LEAK_GRACE`),
/// and the failure prints their dump.
///
/// * `#[goro::test(leaks = "allow")]` turns the leak check off;
/// * `#[goro::test(timeout = "10s")]` fails the test, with a dump, if it
///   runs longer (units `ms`, `s`, `m`).
///
/// Other attributes (`#[should_panic]`, `#[ignore]`) are kept.
///
/// ```
/// #[goro::test(timeout = "10s")]
/// fn sends_and_receives() {
///     let (tx, rx) = goro::chan::<u32>(1);
///     goro::go!(move || tx.send(7).unwrap()).join().unwrap();
///     assert_eq!(rx.recv(), Some(7));
/// }
/// # fn main() {}
/// ```
///
/// # Errors (at compile time)
///
/// An unknown argument, `leaks` other than `"allow"` or `"check"`, a
/// timeout that does not parse, or a function with parameters or `async`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut check_leaks = true;
    let mut timeout_ms: Option<u64> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("leaks") {
            let v: LitStr = meta.value()?.parse()?;
            check_leaks = match v.value().as_str() {
                "allow" => false,
                "check" => true,
                _ => {
                    return Err(syn::Error::new(
                        v.span(),
                        "leaks must be \"allow\" or \"check\"",
                    ));
                }
            };
            Ok(())
        } else if meta.path.is_ident("timeout") {
            let v: LitStr = meta.value()?.parse()?;
            timeout_ms = Some(parse_ms(&v.value()).map_err(|e| syn::Error::new(v.span(), e))?);
            Ok(())
        } else {
            Err(meta.error(
                "unknown #[goro::test] argument; expected `leaks = \"allow\"` or `timeout = \"10s\"`",
            ))
        }
    });
    parse_macro_input!(args with parser);
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = match parse_fn(item, "goro::test") {
        Ok(f) => f,
        Err(e) => return e.to_compile_error().into(),
    };
    let ret = &sig.output;
    let timeout = timeout_ms.map(|ms| {
        quote! { .timeout(::core::time::Duration::from_millis(#ms)) }
    });
    quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis #sig {
            ::goro::testing::run_test(
                ::goro::testing::TestOptions::default().check_leaks(#check_leaks)#timeout,
                move || #ret #block,
            )
        }
    }
    .into()
}

/// Parses the annotated item as a function and checks its signature
/// (shared by both attributes).
fn parse_fn(item: TokenStream, what: &str) -> syn::Result<ItemFn> {
    let f: ItemFn = syn::parse(item)?;
    check_signature(&f, what)?;
    Ok(f)
}

fn check_signature(f: &ItemFn, what: &str) -> syn::Result<()> {
    if let Some(a) = &f.sig.asyncness {
        return Err(syn::Error::new(
            a.span,
            format!("#[{what}] takes a plain `fn`: goro's coroutines block instead of awaiting"),
        ));
    }
    if !f.sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(
            &f.sig.inputs,
            format!("#[{what}] takes a function without parameters"),
        ));
    }
    if !f.sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            Span::call_site(),
            format!("#[{what}] takes a function without generic parameters"),
        ));
    }
    Ok(())
}

/// `"500ms"`, `"10s"`, `"2m"` → milliseconds (the same grammar as
/// `goro::testing::parse_duration`).
fn parse_ms(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid timeout {s:?}: expected e.g. \"500ms\", \"10s\", \"2m\""))?;
    let mul = match unit.trim() {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        _ => {
            return Err(format!(
                "invalid timeout {s:?}: the unit must be ms, s or m"
            ));
        }
    };
    n.checked_mul(mul)
        .ok_or_else(|| format!("timeout {s:?} is too long"))
}
