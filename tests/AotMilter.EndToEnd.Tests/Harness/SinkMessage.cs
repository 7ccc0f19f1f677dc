using AotMilter.Mta;
using AotMilter.Testing;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// One transaction the sink accepted: the envelope and the message bytes exactly as the MTA relayed them (CRLF line
/// endings, dot-stuffing removed).
/// </summary>
public sealed record SinkMessage(int Sequence, string Helo, string MailFrom, IReadOnlyList<string> Recipients, byte[] Data)
{
    private Email? _parsed;
    private IReadOnlyList<HeaderField>? _headers;

    /// <summary>The relayed message as the test kit reads it.</summary>
    public Email Parsed => _parsed ??= Email.Parse(Data);

    /// <summary>The header fields in the form tests write them (<see cref="TestMessage"/>), so sent and relayed fields
    /// compare as values.</summary>
    public IReadOnlyList<HeaderField> Headers => _headers ??= [.. Parsed.Headers.Select(h => new HeaderField(h.Name, h.UnfoldedValue))];

    public byte[] Body => Parsed.Body;

    /// <summary>The sender address without angle brackets and parameters.</summary>
    public string Sender => AddressOf(MailFrom);

    /// <summary>The recipient addresses without angle brackets and parameters, in order.</summary>
    public IReadOnlyList<string> RecipientAddresses => [.. Recipients.Select(AddressOf)];

    /// <summary>The ESMTP parameters of the recipient <paramref name="address"/> ("" when it has none).</summary>
    public string RecipientParameters(string address) =>
        Recipients.Where(r => AddressOf(r) == address).Select(ParametersOf).FirstOrDefault()
        ?? throw new InvalidOperationException($"{address} is not a recipient of {this}");

    /// <summary>The ESMTP parameters of MAIL FROM ("" when it has none).</summary>
    public string SenderParameters => ParametersOf(MailFrom);

    public static string AddressOf(string argument) => argument.Split(' ', 2)[0].Trim('<', '>');

    public static string ParametersOf(string argument) => argument.Contains(' ') ? argument.Split(' ', 2)[1].Trim() : "";

    public override string ToString() =>
        $"#{Sequence} MAIL FROM:{MailFrom} RCPT TO:{string.Join(",", Recipients)} ({Data.Length} bytes)";
}
