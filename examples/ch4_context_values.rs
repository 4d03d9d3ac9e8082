//! *Concurrency in Go*, chapter 4, "The context Package": request-scoped
//! data carried by a context.
//!
//! The Go original:
//!
//! ```go
//! type ctxKey int
//! const (
//!     ctxUserID ctxKey = iota
//!     ctxAuthToken
//! )
//! func UserID(c context.Context) string {
//!     return c.Value(ctxUserID).(string)
//! }
//! func AuthToken(c context.Context) string {
//!     return c.Value(ctxAuthToken).(string)
//! }
//! func ProcessRequest(userID, authToken string) {
//!     ctx := context.WithValue(context.Background(), ctxUserID, userID)
//!     ctx = context.WithValue(ctx, ctxAuthToken, authToken)
//!     HandleResponse(ctx)
//! }
//! func HandleResponse(ctx context.Context) {
//!     fmt.Printf(
//!         "handling response for %v (auth: %v)",
//!         UserID(ctx),
//!         AuthToken(ctx),
//!     )
//! }
//! ```
//!
//! The book's advice — an unexported key type so packages cannot collide,
//! and typed accessor functions so callers need no type assertion — is
//! built into `goro::context::Key<T>`: a `static` key is unique by its
//! address and carries its value type, so `ctx.value(&USER_ID)` is already
//! an `Option<&String>`. Values pass through cancellable layers and into
//! the coroutines that receive the context.

use goro::context::{self, Context, Key};

static USER_ID: Key<String> = Key::new("user-id");
static AUTH_TOKEN: Key<String> = Key::new("auth-token");

fn process_request(user_id: &str, auth_token: &str) {
    let ctx = context::with_value(&context::background(), &USER_ID, user_id.to_string());
    let ctx = context::with_value(&ctx, &AUTH_TOKEN, auth_token.to_string());
    let (ctx, cancel) = context::with_cancel(&ctx); // a cancellable layer on top
    goro::go!(move || handle_response(&ctx)).join().unwrap();
    cancel.cancel();
}

fn handle_response(ctx: &Context) {
    println!(
        "handling response for {} (auth: {})",
        ctx.value(&USER_ID).map_or("<none>", String::as_str),
        ctx.value(&AUTH_TOKEN).map_or("<none>", String::as_str),
    );
}

fn main() {
    goro::run(|| {
        process_request("jane", "abc123");
        handle_response(&context::background()); // no values: the accessors say so
    });
}
