namespace AotMilter.Protocol;

/// <summary>Where one entry of an MTA's header list came from, which decides how the milter's edits count it.</summary>
public enum HeaderOrigin
{
    /// <summary>Sent by the client or set by a milter: the milter saw it, and change-header indexes count it.</summary>
    Client,

    /// <summary>Made by the MTA and not shown to the milter (Sendmail's H lines): a change of that name falls back to it
    /// when no client field matches (Sendmail), and an add of that name takes its place.</summary>
    Generated,

    /// <summary>The MTA's own Received: above everything; never counted or changed.</summary>
    Trace,
}
