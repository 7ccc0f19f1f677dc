using System.Text;
using static AotMilter.Protocol.Tests.TestBytes;

namespace AotMilter.Protocol.Tests;

public class CommandParserTests
{
    private static string Text(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    // ---- option negotiation

    [Fact]
    public void OptionNegotiationReadsVersionActionsAndProtocol()
    {
        OptionNegotiation o = OptionNegotiation.Parse(Of("\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff"));

        Assert.Equal(new OptionNegotiation(6, ActionFlags.AllVersion6, ProtocolFlags.AllVersion6), o);
    }

    [Fact]
    public void OptionNegotiationIgnoresWhatFollowsTheTwelveBytes()
    {
        OptionNegotiation o = OptionNegotiation.Parse(Of("\0\0\0\x02\0\0\0\x3f\0\0\0\x7f\0\0\0\0j\0"));

        Assert.Equal(new OptionNegotiation(2, (ActionFlags)0x3F, (ProtocolFlags)0x7F), o);
    }

    [Fact]
    public void EveryTruncatedOptionNegotiationIsTruncatedPayload()
    {
        byte[] full = Of("\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff");
        for (int length = 0; length < full.Length; length++)
        {
            byte[] truncated = full[..length];
            Assert.Equal(MilterProtocolError.TruncatedPayload, ErrorOf(() => OptionNegotiation.Parse(truncated)));
        }
    }

    // ---- connect

    [Fact]
    public void ConnectReadsHostFamilyPortAndAddress()
    {
        ConnectCommand c = ConnectCommand.Parse(Of("mail.example.org\0" + "4\x04\xd2" + "192.0.2.1\0"));

        Assert.Equal("mail.example.org", Text(c.HostName));
        Assert.Equal(ConnectFamily.IPv4, c.Family);
        Assert.Equal(1234, c.Port);
        Assert.Equal("192.0.2.1", Text(c.Address));
    }

    [Fact]
    public void ConnectWithTheUnknownFamilyHasNoPortOrAddress()
    {
        ConnectCommand c = ConnectCommand.Parse(Of("localhost\0U"));

        Assert.Equal(ConnectFamily.Unknown, c.Family);
        Assert.Equal(0, c.Port);
        Assert.True(c.Address.IsEmpty);
    }

    [Fact]
    public void ConnectFromAUnixSocketCarriesThePathAsTheAddress()
    {
        ConnectCommand c = ConnectCommand.Parse(Of("localhost\0L\0\0/var/run/smtp.sock\0"));

        Assert.Equal(ConnectFamily.Unix, c.Family);
        Assert.Equal("/var/run/smtp.sock", Text(c.Address));
    }

    [Fact]
    public void ConnectStripsSendmailsIPv6Prefix()
    {
        ConnectCommand sendmail = ConnectCommand.Parse(Of("[2001:db8::1]\0" + "6\0\x19" + "IPv6:2001:db8::1\0"));
        ConnectCommand postfix = ConnectCommand.Parse(Of("[2001:db8::1]\0" + "6\0\x19" + "2001:db8::1\0"));

        Assert.Equal("2001:db8::1", Text(sendmail.Address));
        Assert.Equal("2001:db8::1", Text(postfix.Address));
        Assert.Equal(25, sendmail.Port);
    }

    [Fact]
    public void TheIPv6PrefixIsOnlyStrippedForTheIPv6Family()
    {
        ConnectCommand c = ConnectCommand.Parse(Of("h\0L\0\0IPv6:not-really\0"));

        Assert.Equal("IPv6:not-really", Text(c.Address));
    }

    [Theory]
    [InlineData("host\0", MilterProtocolError.TruncatedPayload)] // no family
    [InlineData("host\0X\0\x19" + "1.2.3.4\0", MilterProtocolError.UnknownAddressFamily)]
    [InlineData("host\0" + "4", MilterProtocolError.TruncatedPayload)] // no port
    [InlineData("host\0" + "4\0", MilterProtocolError.TruncatedPayload)] // half a port
    [InlineData("host", MilterProtocolError.MissingTerminator)] // unterminated host
    [InlineData("", MilterProtocolError.MissingTerminator)]
    [InlineData("host\0" + "4\0\x19" + "1.2.3.4", MilterProtocolError.MissingTerminator)] // unterminated address
    [InlineData("host\0" + "4\0\x19", MilterProtocolError.MissingTerminator)] // no address at all
    public void InvalidConnectPayloadsFailWithTheirExactError(string payload, MilterProtocolError expected)
    {
        byte[] bytes = Of(payload);

        Assert.Equal(expected, ErrorOf(() => ConnectCommand.Parse(bytes)));
    }

    // ---- header

    [Fact]
    public void HeaderReadsNameAndValue()
    {
        HeaderCommand h = HeaderCommand.Parse(Of("Subject\0hello\n\tworld\0"));

        Assert.Equal("Subject", Text(h.Name));
        Assert.Equal("hello\n\tworld", Text(h.Value));
    }

    [Fact]
    public void HeaderWithAnEmptyValueIsValid()
    {
        HeaderCommand h = HeaderCommand.Parse(Of("X-Empty\0\0"));

        Assert.Equal("X-Empty", Text(h.Name));
        Assert.True(h.Value.IsEmpty);
    }

    [Theory]
    [InlineData("Subject")] // no NUL at all
    [InlineData("Subject\0hello")] // value not terminated
    [InlineData("")]
    public void HeaderWithoutItsNulsIsMissingTerminator(string payload)
    {
        byte[] bytes = Of(payload);

        Assert.Equal(MilterProtocolError.MissingTerminator, ErrorOf(() => HeaderCommand.Parse(bytes)));
    }

    // ---- argv (MAIL, RCPT)

    [Fact]
    public void ArgvEnumeratesTheAddressAndEveryEsmtpArgument()
    {
        var all = new List<string>();
        foreach (ReadOnlySpan<byte> arg in new ArgvReader(Of("<a@example.org>\0SIZE=1024\0BODY=8BITMIME\0")))
        {
            all.Add(Text(arg));
        }

        Assert.Equal(["<a@example.org>", "SIZE=1024", "BODY=8BITMIME"], all);
    }

    [Fact]
    public void AnUnterminatedArgumentIsMissingTerminator()
    {
        byte[] bytes = Of("<a@example.org>\0SIZE=1");

        Assert.Equal(MilterProtocolError.MissingTerminator, ErrorOf(() =>
        {
            foreach (ReadOnlySpan<byte> _ in new ArgvReader(bytes))
            {
            }
        }));
    }

    [Theory]
    [InlineData("<>\0", "<>", 0)]
    [InlineData("<a@example.org>\0SIZE=1024\0BODY=8BITMIME\0", "<a@example.org>", 2)]
    [InlineData("a@example.org\0", "a@example.org", 0)]
    [InlineData("<b@example.net>\0NOTIFY=SUCCESS,FAILURE\0ORCPT=rfc822;b@example.net\0", "<b@example.net>", 2)]
    [InlineData("<a@example.org>\0\0", "<a@example.org>", 1)]
    public void AnEnvelopeFromARealMtaParsesAndItsArgumentsCanBeWalked(string payload, string address, int arguments)
    {
        EnvelopeCommand envelope = EnvelopeCommand.Parse(Of(payload));

        Assert.Equal(address, Text(envelope.Address));
        int count = 0;
        foreach (ReadOnlySpan<byte> _ in new ArgvReader(envelope.Arguments))
        {
            count++;
        }

        Assert.Equal(arguments, count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("<a@example.org>")]
    [InlineData("<a@example.org>\0SIZE=1")]
    [InlineData("<a@example.org>\0SIZE=1\0BODY=8BITMIME")]
    public void AnEnvelopeWithAnUnterminatedStringIsMissingTerminatorWhenParsed(string payload)
    {
        byte[] bytes = Of(payload);

        Assert.Equal(MilterProtocolError.MissingTerminator, ErrorOf(() => EnvelopeCommand.Parse(bytes)));
    }

    // ---- macros

    private static List<(string Name, string Value)> Pairs(MacroReader reader)
    {
        var pairs = new List<(string, string)>();
        while (reader.MoveNext())
        {
            pairs.Add((Text(reader.Name), Text(reader.Value)));
        }

        return pairs;
    }

    [Fact]
    public void MacroReadsTheStageAndEveryPair()
    {
        MacroReader reader = MacroReader.Parse(Of("Cj\0mx.example.org\0{daemon_name}\0smtpd\0"));

        Assert.Equal((byte)'C', reader.Stage);
        Assert.Equal([("j", "mx.example.org"), ("{daemon_name}", "smtpd")], Pairs(reader));
    }

    [Fact]
    public void MacroWithNoStageByteIsMissingMacroStage()
    {
        Assert.Equal(MilterProtocolError.MissingMacroStage, ErrorOf(() => MacroReader.Parse([])));
    }

    [Theory]
    [InlineData('C')]
    [InlineData('L')]
    [InlineData('B')]
    [InlineData('U')]
    public void MacroToleratesAnEmptyPacket(char stage)
    {
        MacroReader reader = MacroReader.Parse([(byte)stage]);

        Assert.Equal((byte)stage, reader.Stage);
        Assert.Empty(Pairs(reader));
    }

    [Theory]
    [InlineData('L')]
    [InlineData('B')]
    [InlineData('U')]
    public void MacroAcceptsPostfixStageLetters(char stage)
    {
        MacroReader reader = MacroReader.Parse(Of($"{stage}i\0ABC123\0"));

        Assert.Equal((byte)stage, reader.Stage);
        Assert.Equal([("i", "ABC123")], Pairs(reader));
    }

    [Fact]
    public void MacroToleratesATrailingNameWithoutValue()
    {
        Assert.Equal([("j", "host"), ("{orphan}", "")], Pairs(MacroReader.Parse(Of("Cj\0host\0{orphan}\0"))));
        Assert.Equal([("j", "host"), ("{orphan}", "")], Pairs(MacroReader.Parse(Of("Cj\0host\0{orphan}"))));
    }

    [Fact]
    public void MacroToleratesAValueWithoutItsNul()
    {
        Assert.Equal([("j", "host")], Pairs(MacroReader.Parse(Of("Cj\0host"))));
    }

    [Fact]
    public void MacroSkipsPairsWithAnEmptyName()
    {
        Assert.Equal([("j", "host")], Pairs(MacroReader.Parse(Of("C\0ignored\0j\0host\0"))));
    }

    // ---- symbol lists

    [Fact]
    public void ASymbolListWithACutShortStageNumberIsTruncatedPayload()
    {
        byte[] lists = Of("\0\0\0");

        Assert.Equal(MilterProtocolError.TruncatedPayload, ErrorOf(() => new SymbolListReader(lists).MoveNext()));
    }

    [Fact]
    public void AnUnterminatedSymbolListIsMissingTerminator()
    {
        byte[] lists = Of("\0\0\0\x01{tls_version}");

        Assert.Equal(MilterProtocolError.MissingTerminator, ErrorOf(() => new SymbolListReader(lists).MoveNext()));
    }

    // ---- NUL strings

    [Fact]
    public void ALenientStringRunsToTheEndWhenItHasNoNul()
    {
        ReadOnlySpan<byte> payload = Of("abc");

        Assert.Equal("abc", Text(NulString.ReadLenient(ref payload)));
        Assert.True(payload.IsEmpty);
    }
}
