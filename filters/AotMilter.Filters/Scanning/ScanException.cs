namespace AotMilter.Filters.Scanning;

/// <summary>What went wrong with a scan, in the words of the log line, and its class for the error counter.</summary>
public enum ScanErrorKind
{
    /// <summary>The scanner could not be reached (refused, no such socket, name not found).</summary>
    Connect,

    /// <summary>No answer before the scan's deadline, or no free connection to the scanner before it.</summary>
    Timeout,

    /// <summary>The scanner closed the connection before its reply was complete.</summary>
    Closed,

    /// <summary>The reply was not the scanner's protocol (or larger than a reply may be).</summary>
    Protocol,

    /// <summary>The scanner answered with an error of its own (a size limit, an internal error).</summary>
    Scanner,

    /// <summary>The daemon's memory budget had no room for the message.</summary>
    Memory,
}

/// <summary>A scan that gave no verdict; the filter answers with its <c>on-error</c> setting.</summary>
public sealed class ScanException : Exception
{
    public ScanException(ScanErrorKind kind, string message, Exception? inner = null)
        : base(message, inner) => Kind = kind;

    public ScanException()
    {
    }

    public ScanException(string message)
        : base(message)
    {
    }

    public ScanException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ScanErrorKind Kind { get; } = ScanErrorKind.Protocol;
}
