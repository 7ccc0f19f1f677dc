namespace AotMilter.Generators.Model;

/// <summary>What a callback parameter receives; parameters are bound by type, or by [Macro] for macro values.</summary>
internal enum ParameterKind
{
    Context,
    ConnectInfo,
    Bytes,
    EnvelopeAddress,
    HeaderField,
    MessageEditor,

    /// <summary>The event's argument as a string: the HELO name, the address without brackets, the command line.</summary>
    Text,

    /// <summary>A [Macro] value as <c>ReadOnlySpan&lt;byte&gt;</c> (empty when absent).</summary>
    MacroBytes,

    /// <summary>A [Macro] value as <c>string?</c> (null when absent).</summary>
    MacroText,

    /// <summary>A [Macro] value as a non-nullable <c>string</c> ("" when absent).</summary>
    MacroTextOrEmpty,

    /// <summary>A <c>CancellationToken</c>: <c>MilterContext.CallbackAborted</c>, in every callback.</summary>
    CancellationToken,
}
