using AotMilter.Protocol;

namespace AotMilter.Mta;

/// <summary>The MTAs the kit can play.</summary>
public enum MtaKind
{
    Postfix,
    Sendmail,
}

/// <summary>
/// Which MTA the kit plays, and how. The two profiles follow the MTAs' own code (Postfix 3.x milter8.c and
/// cleanup_milter.c, Sendmail 8.x milter.c and headers.c) and are checked against real Postfix 3.7 and Sendmail 8.17 by
/// this project's end-to-end tests. Change a setting with <c>with</c>:
/// <code>MtaProfile.Postfix with { ProtocolVersion = 2, OfferedProtocol = (ProtocolFlags)0x7F }</code>
/// or <see cref="WithMilterProtocol"/>, which does that the way Postfix's <c>milter_protocol</c> does.
/// </summary>
public sealed record MtaProfile
{
    private MtaProfile(MtaKind kind, string name, string hostName)
    {
        Kind = kind;
        Name = name;
        HostName = hostName;
    }

    /// <summary>
    /// Postfix 3.x with default settings, receiving mail from a remote client: it sends <c>ABORT</c> after every
    /// message, <c>D</c> packets also before each header (<c>L</c>) and body chunk (<c>B</c>), macro <c>i</c> only from
    /// DATA on; counts header indexes for change/delete from the first header after its own Received: (a deleted
    /// header is gone, so later ones move up) and insert indexes from its own Received: (index 0 puts a header above
    /// it); accepts quarantine (hold queue) and progress at any stage; drops Return-Path, Bcc, Resent-Bcc and
    /// Content-Length headers; splits lines longer than 998 bytes when relaying.
    /// </summary>
    public static MtaProfile Postfix { get; } = new(MtaKind.Postfix, "Postfix 3.7", "mta.example.test")
    {
        Macros = new Dictionary<char, IReadOnlyList<string>>
        {
            ['C'] = MtaMacroDefaults.Postfix(MacroStage.Connect),
            ['H'] = MtaMacroDefaults.Postfix(MacroStage.Helo),
            ['M'] = MtaMacroDefaults.Postfix(MacroStage.MailFrom),
            ['R'] = MtaMacroDefaults.Postfix(MacroStage.RcptTo),
            ['T'] = MtaMacroDefaults.Postfix(MacroStage.Data),
            ['N'] = MtaMacroDefaults.Postfix(MacroStage.EndOfHeaders),
            ['E'] = MtaMacroDefaults.Postfix(MacroStage.EndOfMessage),

            // Postfix sends the end-of-headers set again before each header, the end-of-message set before each chunk.
            ['L'] = MtaMacroDefaults.Postfix(MacroStage.EndOfHeaders),
            ['B'] = MtaMacroDefaults.Postfix(MacroStage.EndOfMessage),
        },
    };

    /// <summary>
    /// Sendmail 8.x: no <c>ABORT</c> after a message it finished; header indexes for change/delete count only the
    /// headers the client sent, and a deleted header keeps its index; insert indexes count Sendmail's own header list
    /// (Return-Path and Received first, so index 0 lands above Received and 1…8 right below it); a header added with
    /// the name of one Sendmail generates (Date, From, Message-Id) takes that header's place; quarantine and progress
    /// only at end of message; adds Date, From and Message-Id when missing; refuses headers over 32 KiB.
    /// </summary>
    public static MtaProfile Sendmail { get; } = new(MtaKind.Sendmail, "Sendmail 8.17", "mta.example.test")
    {
        AddsMissingHeaders = true,
        Macros = new Dictionary<char, IReadOnlyList<string>>
        {
            ['C'] = MtaMacroDefaults.Sendmail(MacroStage.Connect),
            ['H'] = MtaMacroDefaults.Sendmail(MacroStage.Helo),
            ['M'] = MtaMacroDefaults.Sendmail(MacroStage.MailFrom),
            ['R'] = MtaMacroDefaults.Sendmail(MacroStage.RcptTo),
            ['T'] = MtaMacroDefaults.Sendmail(MacroStage.Data),
            ['N'] = MtaMacroDefaults.Sendmail(MacroStage.EndOfHeaders),
            ['E'] = MtaMacroDefaults.Sendmail(MacroStage.EndOfMessage),
        },
    };

    public MtaKind Kind { get; }

    /// <summary>For reports: "Postfix 3.7", "Sendmail 8.17".</summary>
    public string Name { get; init; }

    /// <summary>The MTA's own host name (macro j, its Received: header, generated Message-Id).</summary>
    public string HostName { get; init; }

    /// <summary>The milter protocol version offered in negotiation (both MTAs: 6).</summary>
    public uint ProtocolVersion { get; init; } = 6;

    /// <summary>The actions offered in negotiation (both MTAs: all of version 6, 0x1FF).</summary>
    public ActionFlags OfferedActions { get; init; } = ActionFlags.AllVersion6;

    /// <summary>The protocol flags offered in negotiation (both MTAs: all of version 6, 0x1FFFFF).</summary>
    public ProtocolFlags OfferedProtocol { get; init; } = ProtocolFlags.AllVersion6;

    /// <summary>
    /// True when the MTA adds Date, Message-Id and From to a message without them. Sendmail always does (and does
    /// not show them to the milter); Postfix does only for clients in <c>local_header_rewrite_clients</c> (by default
    /// the host itself), and shows them to the milter, after the client's headers.
    /// </summary>
    public bool AddsMissingHeaders { get; init; }

    /// <summary>The macros sent before each event, by stage letter (C H M R T N E, and Postfix's L B): names only;
    /// the kit fills the values from the conversation. A name without a value is not sent.</summary>
    public IReadOnlyDictionary<char, IReadOnlyList<string>> Macros { get; init; } = new Dictionary<char, IReadOnlyList<string>>();

    /// <summary>
    /// This profile speaking an older protocol version, the way the MTA does it. For Postfix (<c>milter_protocol</c>):
    /// version 2 offers events 0x7F, 3 adds UNKNOWN (0x17F), 4 adds DATA (0x37F), 6 everything; actions stay 0x1FF
    /// (checked against Postfix 3.7.11). For Sendmail only the version changes.
    /// </summary>
    public MtaProfile WithMilterProtocol(uint version)
    {
        if (version is < 2 or > 6 or 5)
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, "milter protocol versions are 2, 3, 4 and 6");
        }

        if (Kind == MtaKind.Sendmail)
        {
            return this with { ProtocolVersion = version };
        }

        ProtocolFlags protocol = version switch
        {
            2 => (ProtocolFlags)0x7F,
            3 => (ProtocolFlags)0x17F,
            4 => (ProtocolFlags)0x37F,
            _ => ProtocolFlags.AllVersion6,
        };
        return this with { ProtocolVersion = version, OfferedActions = ActionFlags.AllVersion6, OfferedProtocol = protocol };
    }

    public override string ToString() => Name;
}
