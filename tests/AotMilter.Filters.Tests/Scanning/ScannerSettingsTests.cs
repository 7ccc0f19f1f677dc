using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Protocol;
using AotMilter.Server.Configuration;

namespace AotMilter.Filters.Tests.Scanning;

public class ScannerSettingsTests
{
    [Theory]
    [InlineData("clamav", "address = tcp:3310", "clamav.address")]
    [InlineData("clamav", "address = inet:3310", "clamav.address")]
    [InlineData("clamav", "action = bounce", "clamav.action")]
    [InlineData("clamav", "reply = \"450 4.7.1 later %v\"", "clamav.reply")]
    [InlineData("clamav", "on-error = ignore", "clamav.on-error")]
    [InlineData("clamav", "oversize = reject", "clamav.oversize")]
    [InlineData("clamav", "max-size = 100", "clamav.max-size")]
    [InlineData("clamav", "timeout = soon", "clamav.timeout")]
    [InlineData("clamav", "max-connections = 0", "clamav.max-connections")]
    [InlineData("clamav", "adress = unix:/x", "clamav.adress")]
    [InlineData("spamassassin", "reject-score = high", "spamassassin.reject-score")]
    [InlineData("spamassassin", "reply = \"450 4.7.1 later\"", "spamassassin.reply")]
    [InlineData("spamassassin", "user = two words", "spamassassin.user")]
    [InlineData("spamassassin", "quarantine = maybe", "spamassassin.quarantine")]
    [InlineData("rspamd", "address = http://127.0.0.1:11333/checkv2", "rspamd.address")]
    [InlineData("rspamd", "address = https://127.0.0.1:11333", "rspamd.address")]
    [InlineData("rspamd", "spam-header = X Spam", "rspamd.spam-header")]
    public void ABadSettingIsReportedWithItsLine(string filter, string line, string field)
    {
        SettingsLoadResult result = FilterHost.Load($"[{filter}]\n{line}\n", [FilterHost.Filter(filter)]);
        Assert.False(result.IsValid);
        Assert.Equal($"test.conf:2: {field}", $"{result.Errors[0].File}:{result.Errors[0].Line}: {result.Errors[0].Field}");
    }

    [Theory]
    [InlineData("clamav", "address = inet:3310@127.0.0.1\naction = quarantine\nreply = \"554 5.7.1 Infected: %v\"\non-error = accept\ntimeout = 10s\nmax-size = 10M")]
    [InlineData("clamav", "address = inet6:3310@::1\nmax-connections = 64\noversize = tempfail\nadd-header = yes")]
    [InlineData("rspamd", "address = http://localhost:11333\nspam-header = X-Spam-Flag\nmax-size = 50M")]
    [InlineData("rspamd", "address = http://[::1]:11333")]
    [InlineData("rspamd", "address = unix:/run/rspamd/normal.sock")]
    [InlineData("spamassassin", "address = unix:/run/spamd.sock\nreject-score = 7.5\nreply = \"554 5.7.1 Spam\"\nquarantine = yes\nsubject-tag = \"*** SPAM ***\"\nuser = debian-spamd")]
    public void GoodSettingsLoad(string filter, string lines)
    {
        SettingsLoadResult result = FilterHost.Load($"[{filter}]\n{lines}\n", [FilterHost.Filter(filter)]);
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
    }

    [Theory]
    [InlineData("clamav")]
    [InlineData("spamassassin")]
    [InlineData("rspamd")]
    public void EveryScannerAsksTheMtaForSkipsSoThatABodyPastMaxSizeStopsComing(string filter)
        => Assert.Equal(ProtocolFlags.Skip, FilterHost.Filter(filter).Protocol & ProtocolFlags.Skip);
}
