using System.Globalization;
using System.Text;
using AotMilter.Protocol;

namespace AotMilter.Hosting.Bench;

/// <summary>Prints a run: a summary for people, then one <c>RESULT key=value ...</c> line with milter-load's keys.</summary>
internal static class BenchReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static void PrintLoad(TextWriter output, BenchResult r)
    {
        BenchSettings s = r.Settings;
        var text = new StringBuilder();
        string amount = s.Messages > 0
            ? string.Create(Invariant, $"{s.Messages:N0} messages")
            : string.Create(Invariant, $"{s.Duration.TotalSeconds:0.#} s");
        text.Append(Invariant, $"{ProgramName.Value} bench: {s.Socket}, {s.Connections} connection(s), {s.MessagesPerConnection} message(s) per connection, ");
        if (s.MessageFiles.Count == 0)
        {
            text.Append(Invariant, $"body {s.BodySize} B in chunks of {s.Chunk} B, {s.Headers} headers, {amount}\n");
        }
        else
        {
            text.Append(Invariant, $"{s.MessageFiles.Count} message file(s) in turn ({Expectations(s.MessageFiles)}), body chunks of {s.Chunk} B, {amount}\n");
        }

        text.Append("  negotiated:  ").Append(Describe(r.Negotiated)).Append('\n');
        text.Append(Invariant, $"  messages:    {r.Messages:N0} ({r.Ok:N0} accepted, {r.Rejected:N0} rejected, {r.TempFailed:N0} tempfailed, {r.Discarded:N0} discarded) ");
        text.Append(Invariant, $"in {r.Elapsed.TotalSeconds:0.000} s; {r.Errors:N0} error(s), {r.Mismatched:N0} of them a verdict not as expected\n");
        text.Append(Invariant, $"  throughput:  {r.MessagesPerSecond:N1} msgs/s\n");
        text.Append(Invariant, $"  latency:     p50 {r.P50:N0} us, p90 {r.P90:N0} us, p99 {r.P99:N0} us, max {r.Max:N0} us, avg {r.Average:N0} us\n");
        text.Append(Invariant, $"  connections: {r.Connects:N0} opened, {r.ConnectRetries:N0} connect retries (listen backlog full)\n");
        if (s.ExpectHeader is not null)
        {
            string check = s.ChecksBenchHeader ? $"{s.ExpectHeader}: {s.Headers}" : $"{s.ExpectHeader}";
            text.Append(Invariant, $"  checked:     {check} added to {r.HeadersChecked:N0} of {r.Ok:N0} accepted messages\n");
        }

        text.Append(Invariant, $"  generator:   {r.GeneratorCpu.TotalSeconds:0.00} s CPU ({r.GeneratorCpuPercent:0.0}% of one core), ");
        text.Append(Invariant, $"{r.GeneratorAllocatedPerMessage:0} B allocated per message\n");
        if (r.Errors > 0)
        {
            text.Append(Invariant, $"  first error: {r.FirstError}\n");
        }

        output.Write(text.ToString());
        output.WriteLine(ResultLine(r));
        output.Flush();
    }

    public static void PrintIdle(TextWriter output, BenchResult r)
    {
        output.WriteLine(string.Create(Invariant,
            $"{ProgramName.Value} bench: {r.Ok} of {r.Settings.Idle} connection(s) to {r.Settings.Socket} negotiated and idle after {r.Elapsed.TotalSeconds:0.000} s; {r.Errors} error(s)"));
        output.WriteLine(string.Create(Invariant,
            $"RESULT{Label(r.Settings)} socket={r.Settings.Socket} idle={r.Settings.Idle} ready={r.Ok} errors={r.Errors} open_s={r.Elapsed.TotalSeconds:0.000} connect_retries={r.ConnectRetries}{Negotiation(r.Negotiated)}"));
        output.Flush();
    }

    /// <summary>
    /// The machine-readable line: milter-load's keys first, then this generator's own. With message files, size and
    /// headers are the means over the files, and files counts them.
    /// </summary>
    public static string ResultLine(BenchResult r)
    {
        BenchSettings s = r.Settings;
        long size = s.BodySize, headers = s.Headers;
        if (s.MessageFiles.Count > 0 && r.SentMessages.Count > 0)
        {
            (size, headers) = (0, 0);
            foreach (BenchMessage m in r.SentMessages)
            {
                (size, headers) = (size + m.BodyLength, headers + m.Headers.Length);
            }

            (size, headers) = ((size + (r.SentMessages.Count / 2)) / r.SentMessages.Count, (headers + (r.SentMessages.Count / 2)) / r.SentMessages.Count);
        }

        return string.Create(Invariant,
            $"RESULT{Label(s)} socket={s.Socket} conns={s.Connections} msgs_per_conn={s.MessagesPerConnection} size={size} headers={headers} "
            + $"messages={r.Messages} ok={r.Ok} rejected={r.Rejected} errors={r.Errors} elapsed_s={r.Elapsed.TotalSeconds:0.000} "
            + $"msgs_per_s={r.MessagesPerSecond:0.0} p50_us={r.P50} p90_us={r.P90} p99_us={r.P99} max_us={r.Max} avg_us={r.Average:0} "
            + $"gen_cpu_s={r.GeneratorCpu.TotalSeconds:0.00} gen_cpu_pct={r.GeneratorCpuPercent:0.0} connects={r.Connects} "
            + $"connect_retries={r.ConnectRetries} mods={r.Modifications}{Negotiation(r.Negotiated)} "
            + $"header_checked={r.HeadersChecked} gen_alloc_per_msg={r.GeneratorAllocatedPerMessage:0} "
            + $"tempfailed={r.TempFailed} discarded={r.Discarded} mismatched={r.Mismatched} files={s.MessageFiles.Count}");
    }

    /// <summary>How many files must get each verdict, e.g. "20 accept, 1 reject".</summary>
    private static string Expectations(IReadOnlyList<BenchMessageFile> files)
    {
        var counts = new int[(int)BenchVerdict.Discard + 1];
        foreach (BenchMessageFile file in files)
        {
            counts[(int)file.Expect]++;
        }

        var parts = new List<string>();
        for (int i = 0; i < counts.Length; i++)
        {
            if (counts[i] > 0)
            {
                parts.Add(string.Create(Invariant, $"{counts[i]} {BenchMessageFile.Name((BenchVerdict)i)}"));
            }
        }

        return string.Join(", ", parts);
    }

    private static string Label(BenchSettings s) => s.Label.Length > 0 ? $" label={s.Label}" : "";

    private static string Negotiation(OptionNegotiation? n) => n is { } v
        ? string.Create(Invariant, $" proto_ver={v.Version} actions=0x{(uint)v.Actions:x} proto=0x{(uint)v.Protocol:x}")
        : " proto_ver=0 actions=0x0 proto=0x0";

    private static string Describe(OptionNegotiation? negotiated)
    {
        if (negotiated is not { } n)
        {
            return "nothing (no negotiation completed)";
        }

        ProtocolFlags p = n.Protocol;
        var skipped = new List<string>();
        var noReply = new List<string>();
        Add(skipped, p, ProtocolFlags.NoConnect, "connect");
        Add(skipped, p, ProtocolFlags.NoHelo, "helo");
        Add(skipped, p, ProtocolFlags.NoMail, "mail");
        Add(skipped, p, ProtocolFlags.NoRcpt, "rcpt");
        Add(skipped, p, ProtocolFlags.NoData, "data");
        Add(skipped, p, ProtocolFlags.NoHeaders, "header");
        Add(skipped, p, ProtocolFlags.NoEndOfHeaders, "eoh");
        Add(skipped, p, ProtocolFlags.NoBody, "body");
        Add(skipped, p, ProtocolFlags.NoUnknown, "unknown");
        Add(noReply, p, ProtocolFlags.NoReplyConnect, "connect");
        Add(noReply, p, ProtocolFlags.NoReplyHelo, "helo");
        Add(noReply, p, ProtocolFlags.NoReplyMail, "mail");
        Add(noReply, p, ProtocolFlags.NoReplyRcpt, "rcpt");
        Add(noReply, p, ProtocolFlags.NoReplyData, "data");
        Add(noReply, p, ProtocolFlags.NoReplyHeader, "header");
        Add(noReply, p, ProtocolFlags.NoReplyEndOfHeaders, "eoh");
        Add(noReply, p, ProtocolFlags.NoReplyBody, "body");
        Add(noReply, p, ProtocolFlags.NoReplyUnknown, "unknown");
        return string.Create(Invariant,
            $"version {n.Version}, actions 0x{(uint)n.Actions:x}, protocol 0x{(uint)p:x} (not sent: {Join(skipped)}; no reply awaited: {Join(noReply)})");

        static void Add(List<string> list, ProtocolFlags p, ProtocolFlags flag, string name)
        {
            if ((p & flag) != 0)
            {
                list.Add(name);
            }
        }

        static string Join(List<string> names) => names.Count == 0 ? "none" : string.Join(", ", names);
    }
}
