using System.Text;
using AotMilter.Filters.Redis;

namespace AotMilter.Filters.Tests;

public class RespReaderTests
{
    public static TheoryData<string, string> Replies => new()
    {
        { "+OK\r\n", "\"OK\"" },
        { "-NOSCRIPT No matching script\r\n", "(error) NOSCRIPT No matching script" },
        { ":-1\r\n", "(integer) -1" },
        { ":123456789012\r\n", "(integer) 123456789012" },
        { "$40\r\n0123456789abcdef0123456789abcdef01234567\r\n", "\"0123456789abcdef0123456789abcdef01234567\"" },
        { "$-1\r\n", "(nil)" },
        { "*2\r\n:2\r\n:0\r\n", "[(integer) 2, (integer) 0]" },
        { "*2\r\n*1\r\n$1\r\nx\r\n:7\r\n", "[[\"x\"], (integer) 7]" },
    };

    [Theory]
    [MemberData(nameof(Replies))]
    public void EveryPrefixOfAReplyIsIncompleteAndTheWholeReplyReadsOnce(string wire, string expected)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(wire + ":5\r\n");
        int length = wire.Length;
        for (int i = 0; i < length; i++)
        {
            Assert.False(RespReader.TryRead(bytes.AsSpan(0, i), out _, out int consumed), $"prefix of {i} bytes");
            Assert.Equal(0, consumed);
        }

        Assert.True(RespReader.TryRead(bytes, out RedisReply? reply, out int used));
        Assert.Equal(length, used);
        Assert.Equal(expected, reply!.ToString());
    }

    [Theory]
    [InlineData("?\r\n")]
    [InlineData(":12x\r\n")]
    [InlineData("$3\r\nabcd\r\n")]
    [InlineData("$70000\r\n")]
    [InlineData("*5000\r\n")]
    [InlineData("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n")]
    [InlineData("\r\n")]
    public void AReplyThatBreaksRESPOrItsBoundsIsAnError(string wire)
    {
        Assert.Throws<RedisException>(() => RespReader.TryRead(Encoding.ASCII.GetBytes(wire), out _, out _));
    }

    [Fact]
    public void ALineWithoutItsEndBeyondTheLineBoundIsAnErrorNotAWait()
    {
        byte[] bytes = Encoding.ASCII.GetBytes("+" + new string('a', 5000));
        Assert.Throws<RedisException>(() => RespReader.TryRead(bytes, out _, out _));
    }

    [Fact]
    public void CommandsAreWrittenAsArraysOfBulkStrings()
    {
        var writer = new RespWriter();
        writer.Command(3).Argument("EVALSHA").Argument("é").Argument(-12);
        Assert.Equal("*3\r\n$7\r\nEVALSHA\r\n$2\r\né\r\n$3\r\n-12\r\n", Encoding.UTF8.GetString(writer.Written));
    }

    [Theory]
    [InlineData("redis://127.0.0.1:6380/2", "redis://127.0.0.1:6380/2", null, null)]
    [InlineData("redis://localhost", "redis://localhost:6379/0", null, null)]
    [InlineData("redis://:s%40cret@10.0.0.1/1", "redis://***@10.0.0.1:6379/1", null, "s@cret")]
    [InlineData("redis://milter:pw@[::1]:7000", "redis://***@[::1]:7000/0", "milter", "pw")]
    [InlineData("unix:/run/redis/redis.sock?db=3", "unix:/run/redis/redis.sock?db=3", null, null)]
    public void EndpointsParseAndNeverShowTheirPassword(string text, string shown, string? user, string? password)
    {
        Assert.True(RedisEndpoint.TryParse(text, out RedisEndpoint? endpoint, out string? error), error);
        Assert.Equal(shown, endpoint!.ToString());
        Assert.Equal(user, endpoint.User);
        Assert.Equal(password, endpoint.Password);
    }

    [Theory]
    [InlineData("redis://host/abc")]
    [InlineData("http://host:6379")]
    [InlineData("unix:relative.sock")]
    [InlineData("unix:/x.sock?database=1")]
    [InlineData("127.0.0.1:6379")]
    public void BadEndpointsAreRefused(string text)
    {
        Assert.False(RedisEndpoint.TryParse(text, out _, out string? error));
        Assert.NotNull(error);
    }
}
