using AotMilter.Protocol;

namespace AotMilter.Server.Tests;

/// <summary>The addresses a filter is handed print as the address, and still read as bytes without a copy.</summary>
public class AddressTextTests
{
    [Theory]
    [InlineData(ConnectFamily.IPv4, "192.0.2.10")]
    [InlineData(ConnectFamily.IPv6, "2001:db8::1")]
    [InlineData(ConnectFamily.Unix, "/var/run/smtp.sock")]
    [InlineData(ConnectFamily.Unknown, "")]
    public void TheClientAddressConvertsToItsText(ConnectFamily family, string address)
    {
        byte[] bytes = System.Text.Encoding.ASCII.GetBytes(address);
        var info = new ConnectInfo(new ConnectCommand("client.example.org"u8, family, 25, bytes));

        Assert.Equal(address, info.Address.ToString());
        Assert.True(info.Address.Bytes.SequenceEqual(bytes));
        Assert.Equal(address.Length == 0, info.Address.IsEmpty);
#pragma warning disable CS0618 // the old spelling still returns the same text
        Assert.Equal(address, info.AddressString());
#pragma warning restore CS0618
    }

    [Theory]
    [InlineData("<a@example.org>", "a@example.org")]
    [InlineData("<>", "")]
    [InlineData("bare@example.org", "bare@example.org")]
    [InlineData("<Grüße@example.org>", "Grüße@example.org")]
    public void AnEnvelopeAddressAndItsAddressConvertToTheAddressWithoutAngleBrackets(string raw, string address)
    {
        var envelope = new EnvelopeAddress(System.Text.Encoding.UTF8.GetBytes(raw), "SIZE=100\0"u8);

        Assert.Equal(address, envelope.ToString());
        Assert.Equal(address, envelope.Address.ToString());
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(address), envelope.Address.Length);
        ReadOnlySpan<byte> span = envelope.Address;
        Assert.True(span.SequenceEqual(envelope.Address.Bytes));
    }
}
