namespace AotMilter.Generators;

/// <summary>
/// Every diagnostic the generator reports. IDs are never renumbered or reused; docs/diagnostics.md describes each.
/// </summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "AotMilter";

    public static readonly DiagnosticDescriptor InvalidFilterName = Error(
        "AOTM001",
        "Invalid filter name",
        "Filter name '{0}' on '{1}' is invalid: use lower-case letters, digits, '-' and '_', starting with a letter");

    public static readonly DiagnosticDescriptor DuplicateFilterName = Error(
        "AOTM002",
        "Duplicate filter name",
        "Filter name '{0}' is used by both {1} and {2}");

    public static readonly DiagnosticDescriptor UnsupportedFilterClass = Error(
        "AOTM003",
        "Filter class cannot be used",
        "Filter class '{0}' cannot be used because {1}");

    public static readonly DiagnosticDescriptor NoParameterlessConstructor = Error(
        "AOTM004",
        "Filter class has no usable constructor",
        "Filter class '{0}' needs a public or internal constructor that takes no arguments, or one that takes only its settings (a type T implementing IFilterSettings<T>): one instance is created per SMTP connection{1}");

    public static readonly DiagnosticDescriptor UnsupportedParameter = Error(
        "AOTM005",
        "Unsupported callback parameter",
        "Parameter '{0}' of type '{1}' cannot be bound in {2} callback '{3}'; allowed types: {4}");

    public static readonly DiagnosticDescriptor UnsupportedReturnType = Error(
        "AOTM006",
        "Unsupported callback return type",
        "{0} callback '{1}' returns '{2}'; it must return {3}");

    public static readonly DiagnosticDescriptor DuplicateCallback = Error(
        "AOTM007",
        "Two methods for one callback",
        "Filter class '{0}' has two {1} callbacks: '{2}' and '{3}'");

    public static readonly DiagnosticDescriptor InaccessibleCallback = Error(
        "AOTM008",
        "Callback method cannot be called",
        "Callback method '{0}' cannot be called by the generated dispatcher because it is {1}; make it a public or internal, non-static, non-generic method");

    public static readonly DiagnosticDescriptor CallbackOutsideFilter = Error(
        "AOTM009",
        "Callback attribute outside a filter class",
        "Method '{0}' is marked [{1}] but its class '{2}' has no [Milter] attribute, so it is never called");

    public static readonly DiagnosticDescriptor EditorEscapes = Warning(
        "AOTM010",
        "MessageEditor leaves the filter class",
        "Filter class '{0}' passes its MessageEditor to '{1}': the actions it needs cannot be derived from code outside the class, so keep MessageEditor calls inside '{0}'");

    public static readonly DiagnosticDescriptor DuplicateParameterType = Error(
        "AOTM011",
        "Parameter type repeated",
        "{0} callback '{1}' has two parameters of type '{2}' ('{3}' and '{4}'); each type can be bound once");

    public static readonly DiagnosticDescriptor SpanInAsyncCallback = Error(
        "AOTM012",
        "Span parameter in an async callback",
        "Parameter '{0}' of type '{1}' cannot be used by {2} callback '{3}', which returns a ValueTask: spans point into the receive buffer and are gone at the first await; {4}");

    public static readonly DiagnosticDescriptor AsyncWithoutPooling = Info(
        "AOTM013",
        "Async callback allocates per awaited call",
        "Callback '{0}' is async: add [AsyncMethodBuilder(typeof({1}))] so that a call which awaits reuses a pooled state machine instead of allocating one");

    public static readonly DiagnosticDescriptor UnsupportedMacroParameter = Error(
        "AOTM014",
        "Unsupported [Macro] parameter type",
        "[Macro] parameter '{0}' of {1} callback '{2}' has type '{3}'; a macro value is bound to {4}");

    public static readonly DiagnosticDescriptor MacroWithoutStage = Error(
        "AOTM015",
        "Macro read in a callback without a macro stage",
        "{0} callback '{1}' reads macro '{2}', but MTAs send no macros for {3}; read it in an earlier callback and keep it in a field");

    public static readonly DiagnosticDescriptor DuplicateMacro = Error(
        "AOTM016",
        "Macro read twice in one callback",
        "{0} callback '{1}' reads macro '{2}' twice ('{3}' and '{4}'); bind it once");

    public static readonly DiagnosticDescriptor InvalidMacroName = Error(
        "AOTM017",
        "Invalid macro name",
        "[Macro] name '{0}' on parameter '{1}' of '{2}' is invalid: use a non-empty name of printable ASCII without spaces, such as \"i\" or \"{{auth_authen}}\"");

    public static readonly DiagnosticDescriptor MacroNotYetDefined = Warning(
        "AOTM018",
        "Macro read before any MTA defines it",
        "{0} callback '{1}' reads macro '{2}', which no MTA defines before {3} ({4}); it will always be absent here");

    public static readonly DiagnosticDescriptor RejectedRecipientsWithoutRcpt = Warning(
        "AOTM019",
        "RejectedRecipients without a recipient callback",
        "Filter class '{0}' sets RejectedRecipients but has no [OnRcptTo] callback to see them; the capability is not requested");

    public static readonly DiagnosticDescriptor SkipOutsideBody = Warning(
        "AOTM020",
        "Verdict.Skip outside the body callback",
        "{0} callback '{1}' uses Verdict.Skip, which only means something for body chunks; elsewhere it is sent as Continue");

    public static readonly DiagnosticDescriptor DiscardBeforeMessage = Warning(
        "AOTM021",
        "Verdict.Discard at connect or HELO",
        "{0} callback '{1}' uses Verdict.Discard, which discards a message and means nothing before MAIL FROM (Postfix ignores it); use Reject or Accept");

    public static readonly DiagnosticDescriptor InvalidReply = Error(
        "AOTM022",
        "Invalid SMTP reply",
        "This SMTP reply throws at run time: {0}");

    public static readonly DiagnosticDescriptor ReplyClassMismatch = Error(
        "AOTM023",
        "Reply of the wrong class for the verdict",
        "Verdict.{0} is given {1}, a {2} reply, and throws at run time: {0} needs a {3} reply; use Verdict.{4} or change the code");

    public static readonly DiagnosticDescriptor ContextKept = Warning(
        "AOTM024",
        "MilterContext or MessageEditor kept beyond its connection",
        "Filter class '{0}' keeps its {1} {2}; the daemon hands a connection's MilterContext and MessageEditor to later connections (on any of its I/O threads), so that code would reach another connection's macros, replies or edits: keep the values you need instead");

    public static readonly DiagnosticDescriptor TokenInSynchronousCallback = Info(
        "AOTM025",
        "CancellationToken in a synchronous callback",
        "{0} callback '{1}' returns {2}: its CancellationToken '{3}' can only fire while an asynchronous callback is pending, not while this one runs; return a ValueTask to wait with it, or remove the parameter");

    public static readonly DiagnosticDescriptor EditorOutsideEndOfMessage = Warning(
        "AOTM026",
        "MessageEditor kept in a field and used outside end of message",
        "Filter class '{0}' {1}: a MessageEditor takes edits only while [OnEndOfMessage] runs, for its message; an edit made later is dropped or sent with another message, and one made on an editor of the filter's own is never sent; pass the editor [OnEndOfMessage] is given to the methods it calls, and keep in fields only what to edit");

    public static readonly DiagnosticDescriptor SkipThroughHelper = Warning(
        "AOTM027",
        "Verdict.Skip returned through a helper outside the body callback",
        "{0} callback '{1}' calls '{2}', which can return Verdict.Skip{3}; Skip only means something for body chunks, elsewhere it is sent as Continue");

    public static readonly DiagnosticDescriptor MacroOnOneMta = Warning(
        "AOTM028",
        "Macro one MTA does not send at this stage",
        "{0} callback '{1}' reads macro '{2}', which {3} sends by then but {4} does not: {5}; {6}");

    public static readonly DiagnosticDescriptor SpanToString = Warning(
        "AOTM029",
        "ToString() of a span of bytes",
        "'{0}' is a span of bytes: its ToString() gives its type and length (\"System.ReadOnlySpan<Byte>[n]\"), not its text; use {1}, or compare the bytes without a string");

    public static DiagnosticDescriptor ById(string id) => id switch
    {
        "AOTM001" => InvalidFilterName,
        "AOTM002" => DuplicateFilterName,
        "AOTM003" => UnsupportedFilterClass,
        "AOTM004" => NoParameterlessConstructor,
        "AOTM005" => UnsupportedParameter,
        "AOTM006" => UnsupportedReturnType,
        "AOTM007" => DuplicateCallback,
        "AOTM008" => InaccessibleCallback,
        "AOTM009" => CallbackOutsideFilter,
        "AOTM010" => EditorEscapes,
        "AOTM011" => DuplicateParameterType,
        "AOTM012" => SpanInAsyncCallback,
        "AOTM013" => AsyncWithoutPooling,
        "AOTM014" => UnsupportedMacroParameter,
        "AOTM015" => MacroWithoutStage,
        "AOTM016" => DuplicateMacro,
        "AOTM017" => InvalidMacroName,
        "AOTM018" => MacroNotYetDefined,
        "AOTM019" => RejectedRecipientsWithoutRcpt,
        "AOTM020" => SkipOutsideBody,
        "AOTM021" => DiscardBeforeMessage,
        "AOTM022" => InvalidReply,
        "AOTM023" => ReplyClassMismatch,
        "AOTM024" => ContextKept,
        "AOTM025" => TokenInSynchronousCallback,
        "AOTM026" => EditorOutsideEndOfMessage,
        "AOTM027" => SkipThroughHelper,
        "AOTM028" => MacroOnOneMta,
        "AOTM029" => SpanToString,
        _ => throw new ArgumentOutOfRangeException(nameof(id), id, "unknown diagnostic ID"),
    };

    private static DiagnosticDescriptor Error(string id, string title, string message)
        => new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    private static DiagnosticDescriptor Info(string id, string title, string message)
        => new(id, title, message, Category, DiagnosticSeverity.Info, isEnabledByDefault: true);

    private static DiagnosticDescriptor Warning(string id, string title, string message)
        => new(id, title, message, Category, DiagnosticSeverity.Warning, isEnabledByDefault: true);
}
