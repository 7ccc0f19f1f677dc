using System.Diagnostics.CodeAnalysis;

namespace AotMilter.Protocol;

/// <summary>The one exception type for bad input on a milter connection. The connection that raised it is closed.</summary>
public sealed class MilterProtocolException : Exception
{
    public MilterProtocolException(MilterProtocolError error, string message) : base(message) => Error = error;

    public MilterProtocolError Error { get; }

    // Throw helpers keep the throwing code out of the hot methods so they stay small and inlinable.
    [DoesNotReturn]
    public static void Throw(MilterProtocolError error, string message) => throw new MilterProtocolException(error, message);

    [DoesNotReturn]
    internal static T Throw<T>(MilterProtocolError error, string message) => throw new MilterProtocolException(error, message);
}
