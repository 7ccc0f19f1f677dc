using System.Text;
using static AotMilter.Protocol.Tests.TestBytes;

namespace AotMilter.Protocol.Tests;

public class MacroStoreTests
{
    private static void Store(MacroStore store, char stage, params (string Name, string Value)[] pairs)
    {
        var payload = new StringBuilder().Append(stage);
        foreach ((string name, string value) in pairs)
        {
            payload.Append(name).Append('\0').Append(value).Append('\0');
        }

        store.Store(MacroReader.Parse(Of(payload.ToString())));
    }

    private static string? Get(MacroStore store, string name)
        => store.TryGet(name, out ReadOnlySpan<byte> value) ? Encoding.UTF8.GetString(value) : null;

    [Fact]
    public void AStoredMacroCanBeLookedUp()
    {
        var store = new MacroStore();
        Store(store, 'C', ("j", "mx.example.org"), ("{daemon_name}", "smtpd"));

        Assert.Equal("mx.example.org", Get(store, "j"));
        Assert.Equal("smtpd", Get(store, "{daemon_name}"));
        Assert.Null(Get(store, "{client_addr}"));
    }

    [Fact]
    public void AOneLetterNameAndTheSameNameInBracesAreTheSameMacro()
    {
        var store = new MacroStore();
        Store(store, 'M', ("{i}", "QUEUE1"));
        Store(store, 'R', ("j", "host"));

        Assert.Equal("QUEUE1", Get(store, "i"));
        Assert.Equal("QUEUE1", Get(store, "{i}"));
        Assert.Equal("host", Get(store, "{j}"));
        Assert.Equal("host", Get(store, "j"));
    }

    [Fact]
    public void ALongNameWithOrWithoutBracesIsTheSameMacro()
    {
        var store = new MacroStore();
        Store(store, 'M', ("{auth_authen}", "alice"));

        Assert.Equal("alice", Get(store, "auth_authen"));
        Assert.Equal("alice", Get(store, "{auth_authen}"));
    }

    [Fact]
    public void LookUpSearchesFromTheLatestStageBackToConnect()
    {
        var store = new MacroStore();
        Store(store, 'C', ("{x}", "connect"), ("{only_connect}", "c"));
        Store(store, 'H', ("{x}", "helo"));
        Store(store, 'M', ("{x}", "mail"));

        Assert.Equal("mail", Get(store, "x"));
        Assert.Equal("c", Get(store, "only_connect"));
        Assert.Equal("connect", store.TryGet(MacroStage.Connect, "x", out ReadOnlySpan<byte> v) ? Encoding.UTF8.GetString(v) : null);
    }

    [Fact]
    public void EndOfMessageMacrosComeAfterEndOfHeadersMacrosAlthoughTheirStageNumberIsLower()
    {
        var store = new MacroStore();
        Store(store, 'N', ("{x}", "eoh"));
        Store(store, 'E', ("{x}", "eom"));

        Assert.Equal("eom", Get(store, "x"));

        Store(store, 'N', ("{x}", "eoh again"));

        Assert.Equal("eoh again", Get(store, "x"));
        Assert.Equal(0, store.Count(MacroStage.EndOfMessage));
    }

    [Fact]
    public void StoringAnEarlierStageClearsEveryLaterStage()
    {
        var store = new MacroStore();
        Store(store, 'C', ("j", "host"));
        Store(store, 'H', ("{tls_version}", "TLSv1.3"));
        Store(store, 'M', ("{mail_addr}", "a@example.org"));
        Store(store, 'R', ("{rcpt_addr}", "b@example.org"));
        Store(store, 'T', ("{data}", "yes"));
        Store(store, 'N', ("{eoh}", "yes"));
        Store(store, 'E', ("{msg_id}", "<1@x>"));

        Store(store, 'H', ("{tls_version}", "TLSv1.2"));

        Assert.Equal("host", Get(store, "j"));
        Assert.Equal("TLSv1.2", Get(store, "tls_version"));
        Assert.Null(Get(store, "mail_addr"));
        Assert.Null(Get(store, "rcpt_addr"));
        Assert.Null(Get(store, "data"));
        Assert.Null(Get(store, "eoh"));
        Assert.Null(Get(store, "msg_id"));
    }

    [Fact]
    public void RcptMacrosAreReplacedForEveryRecipient()
    {
        var store = new MacroStore();
        Store(store, 'R', ("{rcpt_addr}", "first@example.org"), ("{rcpt_mailer}", "local"));
        Store(store, 'R', ("{rcpt_addr}", "second@example.org"));

        Assert.Equal("second@example.org", Get(store, "rcpt_addr"));
        Assert.Null(Get(store, "rcpt_mailer"));
        Assert.Equal(1, store.Count(MacroStage.RcptTo));
    }

    [Fact]
    public void ConnectAndHeloMacrosSurviveANewMail()
    {
        var store = new MacroStore();
        Store(store, 'C', ("j", "mx"), ("{client_addr}", "192.0.2.1"));
        Store(store, 'H', ("{cipher}", "TLS_AES_256_GCM_SHA384"));
        Store(store, 'M', ("{mail_addr}", "a@example.org"), ("i", "Q1"));
        Store(store, 'R', ("{rcpt_addr}", "b@example.org"));

        Store(store, 'M', ("{mail_addr}", "c@example.org"));

        Assert.Equal("mx", Get(store, "j"));
        Assert.Equal("192.0.2.1", Get(store, "client_addr"));
        Assert.Equal("TLS_AES_256_GCM_SHA384", Get(store, "cipher"));
        Assert.Equal("c@example.org", Get(store, "mail_addr"));
        Assert.Null(Get(store, "i"));
        Assert.Null(Get(store, "rcpt_addr"));
    }

    [Fact]
    public void ClearAfterKeepsTheStageAndEverythingBeforeIt()
    {
        var store = new MacroStore();
        Store(store, 'C', ("j", "mx"));
        Store(store, 'M', ("{mail_addr}", "a@example.org"));
        Store(store, 'R', ("{rcpt_addr}", "b@example.org"));
        Store(store, 'N', ("{eoh}", "1"));
        Store(store, 'E', ("{msg_id}", "<1@x>"));

        store.ClearAfter(MacroStage.MailFrom);

        Assert.Equal("mx", Get(store, "j"));
        Assert.Equal("a@example.org", Get(store, "mail_addr"));
        Assert.Null(Get(store, "rcpt_addr"));
        Assert.Null(Get(store, "eoh"));
        Assert.Null(Get(store, "msg_id"));
    }

    [Fact]
    public void ClearAfterEndOfHeadersClearsOnlyEndOfMessage()
    {
        var store = new MacroStore();
        Store(store, 'N', ("{eoh}", "1"));
        Store(store, 'E', ("{msg_id}", "<1@x>"));

        store.ClearAfter(MacroStage.EndOfHeaders);

        Assert.Equal("1", Get(store, "eoh"));
        Assert.Null(Get(store, "msg_id"));
    }

    [Fact]
    public void AnEmptyMacroPacketClearsItsStage()
    {
        var store = new MacroStore();
        Store(store, 'M', ("{mail_addr}", "a@example.org"));

        Store(store, 'M');

        Assert.Null(Get(store, "mail_addr"));
    }

    [Theory]
    [InlineData('U')]
    [InlineData('Z')]
    public void PacketsForStagesWithoutASlotAreIgnored(char stage)
    {
        var store = new MacroStore();
        Store(store, 'C', ("j", "mx"));
        Store(store, 'E', ("i", "Q1"));

        Store(store, stage, ("i", "ignored"), ("j", "ignored"));

        Assert.Equal("mx", Get(store, "j"));
        Assert.Equal("Q1", Get(store, "i"));
    }

    [Fact]
    public void PostfixHeaderAndBodyPacketsFillTheEndOfHeadersAndEndOfMessageSlots()
    {
        var store = new MacroStore();
        Store(store, 'C', ("j", "mx"));

        Store(store, 'L', ("{hdr_macro}", "before a header"));
        Assert.Equal("before a header", Get(store, "hdr_macro"));

        Store(store, 'B', ("{body_macro}", "before a chunk"));
        Assert.True(store.TryGet(MacroStage.EndOfMessage, "body_macro", out _));
        Assert.Equal("before a header", Get(store, "hdr_macro"));
        Assert.Equal("mx", Get(store, "j"));
    }

    [Fact]
    public void ARepeatedNameInOnePacketMeansTheLaterValue()
    {
        var store = new MacroStore();
        Store(store, 'C', ("j", "old"), ("j", "new"));

        Assert.Equal("new", Get(store, "j"));
    }

    [Fact]
    public void ClearForgetsEveryStage()
    {
        var store = new MacroStore();
        Store(store, 'C', ("j", "mx"));
        Store(store, 'M', ("i", "Q"));

        store.Clear();

        Assert.Null(Get(store, "j"));
        Assert.Null(Get(store, "i"));
    }

    [Fact]
    public void MacrosOfAStageCanBeListedInOrder()
    {
        var store = new MacroStore();
        Store(store, 'C', ("j", "mx"), ("{daemon_name}", "smtpd"));

        var listed = new List<(string, string)>();
        for (int i = 0; i < store.Count(MacroStage.Connect); i++)
        {
            store.GetAt(MacroStage.Connect, i, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value);
            listed.Add((Encoding.UTF8.GetString(name), Encoding.UTF8.GetString(value)));
        }

        Assert.Equal([("j", "mx"), ("{daemon_name}", "smtpd")], listed);
    }

    [Fact]
    public void ManyAndLongMacrosInOneStageAreAllKept()
    {
        var store = new MacroStore();
        (string, string)[] pairs = Enumerable.Range(0, 40).Select(i => ($"{{m{i}}}", new string('v', 100 + i))).ToArray();
        Store(store, 'C', pairs);

        for (int i = 0; i < 40; i++)
        {
            Assert.Equal(new string('v', 100 + i), Get(store, $"m{i}"));
        }
    }

    [Fact]
    public void ManyEmptyMacrosInOneStageAreRefusedBeyondTheEntryBound()
    {
        var store = new MacroStore();
        var ok = Enumerable.Range(0, MacroStore.MaxStageEntries).Select(i => ("a", "")).ToArray();
        Store(store, 'M', ok);
        Assert.Equal(MacroStore.MaxStageEntries, store.Count(MacroStage.MailFrom));

        var tooMany = Enumerable.Range(0, MacroStore.MaxStageEntries + 1).Select(i => ("a", "")).ToArray();
        MilterProtocolException refused = Assert.Throws<MilterProtocolException>(() => Store(store, 'M', tooMany));
        Assert.Equal(MilterProtocolError.MacrosTooLarge, refused.Error);
    }
}
