//! [`Config`] and [`compile_with`]: compiling with settings other than the
//! defaults.

use super::{CompileError, DEFAULT_SOURCE_NAME, Program, compile_named_with};
use crate::jit::runtime;

/// Settings for [`compile_with`]: how much stack the program's calls may
/// use, and the name its diagnostics give the source.
///
/// Every thread runs JIT code on a stack of its own. A call may use
/// [`Config::with_stack_size`] bytes of it (1 GiB by default, as on the
/// command line) before a recursion is a stack overflow error. A runaway
/// recursion touches all of that before it stops, so the time it takes to
/// fail is proportional to the size (about a second for 1 GiB, which the
/// thread gives back to the system afterwards); a host running untrusted
/// formulas can choose a smaller stack to fail sooner.
///
/// ```
/// # fn main() -> Result<(), exprjit::Error> {
/// let config = exprjit::Config::new()
///     .with_stack_size(1 << 20)
///     .with_source_name("rules.ex");
/// let program = exprjit::compile_with("fn down(n) = if n == 0 then 0 else 1 + down(n - 1)", &config)?;
/// let down = program.func::<1>("down")?;
/// assert_eq!(down.call([1_000])?, 1_000);
/// let error = down.call([10_000_000]).unwrap_err(); // far deeper than 1 MiB allows
/// assert_eq!(error.code(), exprjit::ErrorCode::StackOverflow);
/// assert_eq!(error.to_string(), "stack overflow in function 'down' at rules.ex:1:4");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    stack_size: usize,
    source_name: String,
    debug_info: bool,
}

impl Config {
    /// The stack a call may use unless configured otherwise: 1 GiB.
    ///
    /// ```
    /// assert_eq!(exprjit::Config::DEFAULT_STACK_SIZE, 1 << 30);
    /// ```
    pub const DEFAULT_STACK_SIZE: usize = crate::abi::STACK_SIZE;

    /// The largest stack size: also the default ([`Config::DEFAULT_STACK_SIZE`]).
    ///
    /// ```
    /// assert_eq!(exprjit::Config::MAX_STACK_SIZE, exprjit::Config::DEFAULT_STACK_SIZE);
    /// ```
    pub const MAX_STACK_SIZE: usize = crate::abi::STACK_SIZE;

    /// The smallest stack size (a few frames above the reserve that every
    /// stack keeps below its limit).
    ///
    /// ```
    /// assert!(exprjit::Config::MIN_STACK_SIZE <= 128 * 1024);
    /// ```
    pub const MIN_STACK_SIZE: usize = runtime::MIN_STACK_SIZE;

    /// The defaults: a 1 GiB stack, and the source named
    /// [`DEFAULT_SOURCE_NAME`] in diagnostics.
    ///
    /// ```
    /// let config = exprjit::Config::new();
    /// assert_eq!(config.stack_size(), exprjit::Config::DEFAULT_STACK_SIZE);
    /// assert_eq!(config.source_name(), exprjit::DEFAULT_SOURCE_NAME);
    /// ```
    pub fn new() -> Config {
        Config {
            stack_size: Config::DEFAULT_STACK_SIZE,
            source_name: DEFAULT_SOURCE_NAME.to_owned(),
            debug_info: false,
        }
    }

    /// Lets each call use `bytes` of stack, rounded to the range
    /// [`Config::MIN_STACK_SIZE`]..=[`Config::MAX_STACK_SIZE`].
    ///
    /// ```
    /// let config = exprjit::Config::new().with_stack_size(64 << 20);
    /// assert_eq!(config.stack_size(), 64 << 20);
    /// assert_eq!(exprjit::Config::new().with_stack_size(0).stack_size(), exprjit::Config::MIN_STACK_SIZE);
    /// ```
    pub fn with_stack_size(mut self, bytes: usize) -> Config {
        self.stack_size = bytes.clamp(Config::MIN_STACK_SIZE, Config::MAX_STACK_SIZE);
        self
    }

    /// Names the source `name` in diagnostics, as [`compile_named`](super::compile_named) does.
    ///
    /// ```
    /// let config = exprjit::Config::new().with_source_name("<rule 12>");
    /// let error = exprjit::compile_with("1 +", &config).unwrap_err();
    /// assert!(error.to_string().contains("<rule 12>:1:4"));
    /// ```
    pub fn with_source_name(mut self, name: impl Into<String>) -> Config {
        self.source_name = name.into();
        self
    }

    /// Describes the program's code to debuggers (off by default), as the
    /// command line's `-g` does: while the [`Program`] lives, its code is
    /// registered through the GDB JIT interface with a symbol per
    /// function, a line table and call-frame information, so that gdb in
    /// the host process can `break` on a formula's functions and show
    /// backtraces through them into the host's frames. The source is
    /// named [`Config::source_name`]; `list` finds it if that is a file's
    /// path. It costs compile time (for 100,000 small functions, about a
    /// quarter more CPU time) and the image's memory, nothing when calling.
    ///
    /// ```
    /// let config = exprjit::Config::new().with_debug_info(true);
    /// let program = exprjit::compile_with("fn sq(x) = x * x", &config).unwrap();
    /// assert_eq!(program.func::<1>("sq").unwrap().call([7]).unwrap(), 49);
    /// ```
    pub fn with_debug_info(mut self, on: bool) -> Config {
        self.debug_info = on;
        self
    }

    /// Whether the code is described to debuggers.
    ///
    /// ```
    /// assert!(!exprjit::Config::new().debug_info());
    /// ```
    pub fn debug_info(&self) -> bool {
        self.debug_info
    }

    /// The stack a call may use, in bytes.
    ///
    /// ```
    /// assert_eq!(exprjit::Config::new().with_stack_size(1 << 20).stack_size(), 1 << 20);
    /// ```
    pub fn stack_size(&self) -> usize {
        self.stack_size
    }

    /// The name diagnostics give the source.
    ///
    /// ```
    /// assert_eq!(exprjit::Config::new().with_source_name("a.ex").source_name(), "a.ex");
    /// ```
    pub fn source_name(&self) -> &str {
        &self.source_name
    }
}

impl Default for Config {
    /// The same as [`Config::new`].
    fn default() -> Config {
        Config::new()
    }
}

/// Like [`compile`](super::compile), with the settings of `config`.
///
/// ```
/// let config = exprjit::Config::new().with_stack_size(256 * 1024);
/// let program = exprjit::compile_with("fn forever(n) = 1 + forever(n + 1)", &config).unwrap();
/// let forever = program.func::<1>("forever").unwrap();
/// // Fails after at most 256 KiB of stack, in well under a millisecond.
/// assert_eq!(forever.call([0]).unwrap_err().code(), exprjit::ErrorCode::StackOverflow);
/// ```
pub fn compile_with(source: &str, config: &Config) -> Result<Program, CompileError> {
    let mut program = compile_named_with(&config.source_name, source, config.debug_info)?;
    program.loaded.set_stack_size(config.stack_size);
    Ok(program)
}
