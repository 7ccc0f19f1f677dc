namespace AotMilter.Protocol;

/// <summary>Why a connection's input was rejected. Each value names exactly one kind of bad input.</summary>
public enum MilterProtocolError
{
    /// <summary>The length field is zero: a frame must at least carry its command byte.</summary>
    EmptyFrame,

    /// <summary>The length field announces more payload than the configured maximum.</summary>
    FrameTooLarge,

    /// <summary>The command byte is not one the protocol defines.</summary>
    UnknownCommand,

    /// <summary>A fixed-size payload (option negotiation, connect port) is too short.</summary>
    TruncatedPayload,

    /// <summary>A string the protocol requires to be NUL-terminated is not.</summary>
    MissingTerminator,

    /// <summary>The connect command names an address family the protocol does not define.</summary>
    UnknownAddressFamily,

    /// <summary>The MTA offered a protocol version this milter cannot speak (below 2).</summary>
    UnsupportedVersion,

    /// <summary>The MTA does not offer a modification the filter chain requires.</summary>
    ActionsNotOffered,

    /// <summary>A command arrived before option negotiation or in a state where it makes no sense.</summary>
    UnexpectedCommand,

    /// <summary>The macro command has no stage byte.</summary>
    MissingMacroStage,

    /// <summary>The macros of one stage exceed <see cref="MacroStore.MaxStageBytes"/>.</summary>
    MacrosTooLarge,

    /// <summary>A reply carries payload where it has none, or bytes after its last field.</summary>
    UnexpectedPayload,

    /// <summary>A reply-code reply does not start with a 4xx or 5xx SMTP code.</summary>
    MalformedReplyCode,
}
