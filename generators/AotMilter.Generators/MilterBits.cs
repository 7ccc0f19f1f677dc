using System.Collections.Generic;
using System.Text;

namespace AotMilter.Generators;

/// <summary>
/// The SMFIP_* and SMFIF_* bits the generator derives, with the member names of AotMilter.Protocol.ProtocolFlags and
/// ActionFlags (copied: the generator references no project; a test checks they match).
/// </summary>
internal static class MilterBits
{
    public const uint NoConnect = 0x1;
    public const uint NoHelo = 0x2;
    public const uint NoMail = 0x4;
    public const uint NoRcpt = 0x8;
    public const uint NoBody = 0x10;
    public const uint NoHeaders = 0x20;
    public const uint NoEndOfHeaders = 0x40;
    public const uint NoReplyHeader = 0x80;
    public const uint NoUnknown = 0x100;
    public const uint NoData = 0x200;
    public const uint Skip = 0x400;
    public const uint RejectedRecipients = 0x800;
    public const uint NoReplyConnect = 0x1000;
    public const uint NoReplyHelo = 0x2000;
    public const uint NoReplyMail = 0x4000;
    public const uint NoReplyRcpt = 0x8000;
    public const uint NoReplyData = 0x10000;
    public const uint NoReplyUnknown = 0x20000;
    public const uint NoReplyEndOfHeaders = 0x40000;
    public const uint NoReplyBody = 0x80000;
    public const uint HeaderLeadingSpace = 0x100000;

    public const uint AddHeaders = 0x1;
    public const uint ChangeBody = 0x2;
    public const uint AddRecipient = 0x4;
    public const uint DeleteRecipient = 0x8;
    public const uint ChangeHeaders = 0x10;
    public const uint Quarantine = 0x20;
    public const uint ChangeSender = 0x40;
    public const uint AddRecipientWithArgs = 0x80;

    private static readonly KeyValuePair<uint, string>[] s_protocolNames =
    [
        new(NoConnect, nameof(NoConnect)),
        new(NoHelo, nameof(NoHelo)),
        new(NoMail, nameof(NoMail)),
        new(NoRcpt, nameof(NoRcpt)),
        new(NoBody, nameof(NoBody)),
        new(NoHeaders, nameof(NoHeaders)),
        new(NoEndOfHeaders, nameof(NoEndOfHeaders)),
        new(NoReplyHeader, nameof(NoReplyHeader)),
        new(NoUnknown, nameof(NoUnknown)),
        new(NoData, nameof(NoData)),
        new(Skip, nameof(Skip)),
        new(RejectedRecipients, nameof(RejectedRecipients)),
        new(NoReplyConnect, nameof(NoReplyConnect)),
        new(NoReplyHelo, nameof(NoReplyHelo)),
        new(NoReplyMail, nameof(NoReplyMail)),
        new(NoReplyRcpt, nameof(NoReplyRcpt)),
        new(NoReplyData, nameof(NoReplyData)),
        new(NoReplyUnknown, nameof(NoReplyUnknown)),
        new(NoReplyEndOfHeaders, nameof(NoReplyEndOfHeaders)),
        new(NoReplyBody, nameof(NoReplyBody)),
        new(HeaderLeadingSpace, nameof(HeaderLeadingSpace)),
    ];

    private static readonly KeyValuePair<uint, string>[] s_actionNames =
    [
        new(AddHeaders, nameof(AddHeaders)),
        new(ChangeBody, nameof(ChangeBody)),
        new(AddRecipient, nameof(AddRecipient)),
        new(DeleteRecipient, nameof(DeleteRecipient)),
        new(ChangeHeaders, nameof(ChangeHeaders)),
        new(Quarantine, nameof(Quarantine)),
        new(ChangeSender, nameof(ChangeSender)),
        new(AddRecipientWithArgs, nameof(AddRecipientWithArgs)),
        new(0x100, "SetSymbolList"),
    ];

    /// <summary>All protocol bit names, for the test that compares them with ProtocolFlags.</summary>
    public static IReadOnlyList<KeyValuePair<uint, string>> ProtocolNames => s_protocolNames;

    /// <summary>All action bit names, for the test that compares them with ActionFlags.</summary>
    public static IReadOnlyList<KeyValuePair<uint, string>> ActionNames => s_actionNames;

    /// <summary>"NoConnect | NoHelo", or "None".</summary>
    public static string DescribeProtocol(uint bits) => Describe(bits, s_protocolNames);

    /// <summary>"AddHeaders | ChangeBody", or "None".</summary>
    public static string DescribeActions(uint bits) => Describe(bits, s_actionNames);

    private static string Describe(uint bits, KeyValuePair<uint, string>[] names)
    {
        if (bits == 0)
        {
            return "None";
        }

        var text = new StringBuilder();
        foreach (KeyValuePair<uint, string> name in names)
        {
            if ((bits & name.Key) != 0)
            {
                if (text.Length > 0)
                {
                    text.Append(" | ");
                }

                text.Append(name.Value);
                bits &= ~name.Key;
            }
        }

        if (bits != 0)
        {
            if (text.Length > 0)
            {
                text.Append(" | ");
            }

            text.Append("0x").Append(bits.ToString("X"));
        }

        return text.ToString();
    }
}
