using System.Text;
using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Filters.Tests.Scanning;
using AotMilter.Mta;
using AotMilter.Testing;
using Xunit;

namespace AotMilter.EndToEnd.Tests.Differential;

/// <summary>
/// AotMilter's clamav and spamassassin filters against the milters admins run today, clamav-milter and
/// spamass-milter, on the same clamd and spamd: two Postfix instances, one with the anchors, one with
/// <c>aotmilter -f clamav -f spamassassin</c>; every message of ../shared/corpus (when present), EICAR, GTUBE and a
/// clean message goes through both. Every message must get the same SMTP verdict (and code) from both, and the same
/// X-Virus-Status, X-Spam-Flag and spam/ham decision in X-Spam-Status when delivered. What still differs (reply
/// texts, X-Virus-Scanned's product name, SpamAssassin's score) is listed per message; with
/// <c>AOTMILTER_SCANNER_DIFF_TABLE=FILE</c> the table is written there (bench/results/ keeps one).
/// </summary>
public sealed class ScannerDifferentialTests(ScannerDifferentialFixture fixture) : IClassFixture<ScannerDifferentialFixture>
{
    public const string TableVariable = "AOTMILTER_SCANNER_DIFF_TABLE";

    private const string Title = "Scanning differential: clamav-milter and spamass-milter against aotmilter -f clamav -f spamassassin";

    private const string Setup = """
        Two real Postfix instances on one host, one with Debian's clamav-milter (OnInfected Reject, OnFail Defer,
        AddHeader Replace) and spamass-milter (-r 15), one with `aotmilter -f clamav -f spamassassin` (`add-header =
        yes`, `reject-score = 15`), both in front of the same clamd (one EICAR signature) and the same spamd (Debian's
        rules, local tests only, `report_safe 0`). Verdict: the SMTP reply to DATA. Same: same verdict and code, and
        for delivered mail the same X-Virus-Status, X-Spam-Flag and Yes/No of X-Spam-Status.

        Differences by design, on every delivered message: X-Virus-Scanned names the product (`clamav-milter VERSION at
        HOST` against `clamav (AotMilter VERSION) at HOST`). Both tell spamd the envelope the same way (X-Envelope-From,
        X-Envelope-To and a Received field of their own ahead of the message); spamass-milter asks for the whole
        message back (PROCESS) where AotMilter asks for the header (HEADERS), and spamc names the user it runs as.
        """;

    [Fact]
    public Task BothGiveTheSameVerdictAndScannerHeadersForEveryMessage() => fixture.VerifyAsync(
        () => RunAsync(fixture.AnchorPostfix, fixture.OurPostfix, ["X-Virus-Status", "X-Spam-Flag"], Title, Setup));

    /// <summary>
    /// Sends every message through both Postfix instances; fails unless each gets the same verdict and the same
    /// <paramref name="fields"/> (and spam decision in X-Spam-Status); writes the table when asked to.
    /// </summary>
    internal static async Task RunAsync(PostfixInstance anchorPostfix, PostfixInstance ourPostfix, string[] fields, string title, string setup)
    {
        var rows = new List<string>();
        var mismatches = new List<string>();
        int n = 0;
        foreach ((string name, byte[] message) in Messages())
        {
            string key = $"d{n++}x{Guid.NewGuid():N}"[..16];
            Outcome anchor = await SendAsync(anchorPostfix, $"{key}a@mail.test", message);
            Outcome ours = await SendAsync(ourPostfix, $"{key}o@mail.test", message);
            List<string> differences = Compare(anchor, ours, fields, out bool same);
            if (!same)
            {
                mismatches.Add($"{name}: anchor {anchor.Verdict}, aotmilter {ours.Verdict}; {string.Join("; ", differences)}");
            }

            rows.Add($"| {name} | {anchor.Verdict} | {ours.Verdict} | {(same ? "same" : "**DIFFERENT**")} | {string.Join("; ", differences).Replace("|", "\\|", StringComparison.Ordinal)} |");
        }

        if (Environment.GetEnvironmentVariable(TableVariable) is { Length: > 0 } table)
        {
            await File.WriteAllTextAsync(table, Table(title, setup, rows));
        }

        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    private static IEnumerable<(string Name, byte[] Message)> Messages()
    {
        string date = DateTimeOffset.UtcNow.ToString("r", System.Globalization.CultureInfo.InvariantCulture);
        string Headers(string subject) => $"From: Alice <alice@example.com>\r\nTo: Bob <bob@example.net>\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{Guid.NewGuid():N}@example.com>\r\n";
        yield return ("(clean)", Encoding.ASCII.GetBytes(Headers("Lunch") + "\r\nShall we meet at noon on Monday?\r\nAlice\r\n"));
        yield return ("(EICAR)", Encoding.ASCII.GetBytes(Headers("Invoice") + "\r\n" + Eicar.Text + "\r\n"));
        yield return ("(GTUBE)", Encoding.ASCII.GetBytes(Headers("Offer") + "\r\n" + Gtube.Text + "\r\n"));
        if (Directory.Exists(DifferentialCases.Corpus))
        {
            foreach (string file in Directory.GetFiles(DifferentialCases.Corpus, "*.eml").Order(StringComparer.Ordinal))
            {
                yield return (Path.GetFileName(file), MessageComparison.SmtpBytes(File.ReadAllBytes(file)));
            }
        }
    }

    private static async Task<Outcome> SendAsync(PostfixInstance postfix, string sender, byte[] message)
    {
        SmtpTransaction smtp = await postfix.SendAsync(sender, ["rcpt@rcpt.test"], message);
        if (!smtp.Accepted)
        {
            Harness.SmtpReply failure = smtp.FirstFailure!;
            return new Outcome($"{failure.Code} {failure.Text.Split(' ', 2)[0]}", failure.Text, null);
        }

        SinkMessage delivered = await postfix.WaitForAsync(m => m.Sender == sender, MtaFixture.DeliveryTimeout, sender);
        return new Outcome("250 delivered", "", delivered.Parsed);
    }

    /// <summary>What must be the same (returns false when not) and what may differ (listed).</summary>
    private static List<string> Compare(Outcome anchor, Outcome ours, string[] fields, out bool same)
    {
        var notes = new List<string>();
        same = anchor.Verdict == ours.Verdict;
        if (anchor.Delivered is null || ours.Delivered is null)
        {
            if (anchor.Text != ours.Text)
            {
                notes.Add($"reply text: anchor \"{anchor.Text}\", aotmilter \"{ours.Text}\"");
            }

            return notes;
        }

        foreach (string field in fields)
        {
            string a = string.Join(", ", anchor.Delivered.HeaderValues(field));
            string o = string.Join(", ", ours.Delivered.HeaderValues(field));
            if (a != o)
            {
                same = false;
                notes.Add($"{field}: anchor \"{a}\", aotmilter \"{o}\"");
            }
        }

        string anchorStatus = string.Join(", ", anchor.Delivered.HeaderValues("X-Spam-Status"));
        string ourStatus = string.Join(", ", ours.Delivered.HeaderValues("X-Spam-Status"));
        if (anchorStatus.Split(',')[0] != ourStatus.Split(',')[0])
        {
            same = false;
        }

        if (Score(anchorStatus) != Score(ourStatus))
        {
            notes.Add($"score: anchor {Score(anchorStatus)}, aotmilter {Score(ourStatus)}");
            string[] anchorTests = Tests(anchorStatus);
            string[] ourTests = Tests(ourStatus);
            notes.Add($"rules only the anchor's scan hit: {string.Join(" ", anchorTests.Except(ourTests))}; only aotmilter's: {string.Join(" ", ourTests.Except(anchorTests))}");
        }

        return notes;
    }

    private static string[] Tests(string status)
    {
        int at = status.IndexOf("tests=", StringComparison.Ordinal);
        return at < 0 ? [] : status[(at + 6)..].Split(' ')[0].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    private static string Score(string status)
    {
        int at = status.IndexOf("score=", StringComparison.Ordinal);
        return at < 0 ? "-" : status[(at + 6)..].Split(' ')[0];
    }

    private static string Table(string title, string setup, List<string> rows) => $"""
        # {title}

        {DateTimeOffset.UtcNow:yyyy-MM-dd}, tests/AotMilter.EndToEnd.Tests/Differential ({TableVariable}=FILE).
        {setup}

        | message | anchor | aotmilter | | what differs |
        |---|---|---|---|---|
        {string.Join("\n", rows)}
        """;

    private sealed record Outcome(string Verdict, string Text, Email? Delivered);
}

/// <summary>clamd, spamd, the two anchors with a Postfix, and aotmilter with another Postfix.</summary>
public sealed class ScannerDifferentialFixture : MtaFixture
{
    private readonly SpamdDaemon _spamd = new();
    private ClamdDaemon? _clamd;
    private AnchorMilter? _clamavMilter;
    private AnchorMilter? _spamassMilter;
    private PostfixInstance? _anchorPostfix;
    private PostfixInstance? _ourPostfix;

    public PostfixInstance AnchorPostfix => _anchorPostfix ?? throw new InvalidOperationException("Postfix was not started");

    public PostfixInstance OurPostfix => _ourPostfix ?? throw new InvalidOperationException("Postfix was not started");

    public override async Task InitializeAsync()
    {
        if ((ClamdDaemon.Missing ?? SpamdDaemon.Missing ?? AnchorMilter.Missing("/usr/sbin/clamav-milter") ?? AnchorMilter.Missing("/usr/sbin/spamass-milter")) is string missing)
        {
            throw new InvalidOperationException(missing);
        }

        _clamd = await ClamdDaemon.StartAsync();
        await _spamd.InitializeAsync();
        _clamavMilter = await AnchorMilter.ClamavMilterAsync(_clamd.SocketPath);
        _spamassMilter = await AnchorMilter.SpamassMilterAsync(_spamd.SocketPath, 15);
        _anchorPostfix = await PostfixInstance.StartAsync(new PostfixOptions
        {
            Settings = new Dictionary<string, string> { ["smtpd_milters"] = $"unix:{_clamavMilter.SocketPath} unix:{_spamassMilter.SocketPath}" },
        });

        string config = Directory.Combine("aotmilter.conf");
        await File.WriteAllTextAsync(config, $"[clamav]\naddress = {_clamd.Address}\nadd-header = yes\n\n[spamassassin]\naddress = {_spamd.Address}\nreject-score = 15\n");
        Milter = await MilterDaemon.StartAsync("clamav", UnixSocket(), "-f", "spamassassin", "-c", config);
        _ourPostfix = await PostfixInstance.StartAsync(new PostfixOptions { Milter = Milter.Endpoint });
    }

    protected override string DescribeMta() =>
        $"{_anchorPostfix?.Describe()}\n--- clamav-milter ---\n{_clamavMilter?.Output}\n--- spamass-milter ---\n{_spamassMilter?.Output}\n{_ourPostfix?.Describe()}";

    protected override async ValueTask DisposeMtaAsync()
    {
        foreach (IAsyncDisposable? part in new IAsyncDisposable?[] { _anchorPostfix, _ourPostfix, _clamavMilter, _spamassMilter, _clamd })
        {
            if (part is not null)
            {
                await part.DisposeAsync();
            }
        }

        await _spamd.DisposeAsync();
    }
}
