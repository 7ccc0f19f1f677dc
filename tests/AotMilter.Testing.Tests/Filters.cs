namespace AotMilter.Testing.Tests;

/// <summary>Records what it sees into the calling test's list (an async-local value: it flows into the server the
/// test's kit runs in-process), and rejects the recipient "no@example.net".</summary>
[Milter("kit-probe", Description = "Kit tests: records every callback")]
public sealed class ProbeFilter
{
    public static readonly AsyncLocal<List<string>?> Events = new();

    private static void Add(string text) => Events.Value?.Add(text);

    [OnConnect]
    public void Connect(ConnectInfo info, MilterContext context) =>
        Add($"connect {info.HostNameString()} {info.Family} {info.Address.ToString()} j={context.GetMacroString("j")}");

    [OnHelo]
    public void Helo(ReadOnlySpan<byte> name) => Add($"helo {System.Text.Encoding.ASCII.GetString(name)}");

    [OnMailFrom]
    public void MailFrom(EnvelopeAddress sender, MilterContext context) =>
        Add($"mail {sender.Address.ToString()} i={context.GetMacroString("i") ?? "-"} {{mail_addr}}={context.GetMacroString("{mail_addr}") ?? "-"}");

    [OnRcptTo]
    public Verdict RcptTo(EnvelopeAddress recipient)
    {
        Add($"rcpt {recipient.ToString()}");
        return recipient.Is("no@example.net") ? Verdict.Reject : Verdict.Continue;
    }

    [OnHeader]
    public void Header(HeaderField header) => Add($"header {header.NameString()}:{header.ValueString().Replace("\n", "\\n", StringComparison.Ordinal)}");

    [OnEndOfHeaders]
    public void EndOfHeaders() => Add("eoh");

    [OnBody]
    public void Body(ReadOnlySpan<byte> chunk) => Add($"body {chunk.Length}");

    [OnEndOfMessage]
    public Verdict EndOfMessage(MilterContext context)
    {
        Add($"eom i={context.GetMacroString("i") ?? "-"}");
        return Verdict.Continue;
    }

    [OnAbort]
    public void Abort() => Add("abort");

    [OnClose]
    public void Close() => Add("close");
}
