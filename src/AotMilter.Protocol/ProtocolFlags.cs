namespace AotMilter.Protocol;

/// <summary>
/// SMFIP_* bits exchanged in option negotiation. Three kinds: skip bits (the MTA does not send an event),
/// no-reply bits (the milter does not answer an event) and capabilities.
/// </summary>
[System.Flags]
public enum ProtocolFlags : uint
{
    None = 0,
    NoConnect = 0x1,
    NoHelo = 0x2,
    NoMail = 0x4,
    NoRcpt = 0x8,
    NoBody = 0x10,
    NoHeaders = 0x20,
    NoEndOfHeaders = 0x40,
    NoReplyHeader = 0x80,
    NoUnknown = 0x100,
    NoData = 0x200,
    Skip = 0x400,
    RejectedRecipients = 0x800,
    NoReplyConnect = 0x1000,
    NoReplyHelo = 0x2000,
    NoReplyMail = 0x4000,
    NoReplyRcpt = 0x8000,
    NoReplyData = 0x10000,
    NoReplyUnknown = 0x20000,
    NoReplyEndOfHeaders = 0x40000,
    NoReplyBody = 0x80000,
    HeaderLeadingSpace = 0x100000,

    /// <summary>Every event-skip bit.</summary>
    AllSkips = NoConnect | NoHelo | NoMail | NoRcpt | NoBody | NoHeaders | NoEndOfHeaders | NoUnknown | NoData,

    /// <summary>Every no-reply bit.</summary>
    AllNoReplies = NoReplyHeader | NoReplyConnect | NoReplyHelo | NoReplyMail | NoReplyRcpt | NoReplyData
        | NoReplyUnknown | NoReplyEndOfHeaders | NoReplyBody,

    /// <summary>SMFI_CURR_PROT: everything protocol version 6 defines.</summary>
    AllVersion6 = 0x1FFFFF,
}
