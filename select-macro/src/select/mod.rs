//! `select!`: parsing ([`parse`]) and code generation ([`expand`]).

mod expand;
mod parse;

use proc_macro2::TokenStream;

pub(crate) fn select(input: TokenStream) -> TokenStream {
    match parse::parse(input) {
        Ok(sel) => expand::expand(sel),
        Err(e) => e.to_compile_error(),
    }
}
