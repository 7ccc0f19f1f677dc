using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;
using AotMilter.Filters.Greylist;
using AotMilter.Filters.Matching;
using AotMilter.Filters.Redis;
using AotMilter.Filters.Stores;

namespace AotMilter.Filters;

/// <summary>
/// Greylisting: the first time a client network sends from a sender to a recipient, that recipient is tempfailed at
/// RCPT (451 4.7.1). A real MTA retries after a while and then passes; much spam software never retries. What is
/// remembered, and for how long, is in <see cref="GreylistSettings"/>; where, in the store it names (this process, or
/// Redis for several daemons). Clients without an IP address (local submission), authenticated clients and the
/// exempt networks, host names, senders and recipients are not greylisted. When the store cannot answer, the recipient
/// gets the <c>on-error</c> verdict (tempfail by default).
/// </summary>
[Milter("greylist", Description = "Tempfails a new (client network, sender, recipient) triplet once; retries after a delay pass")]
public sealed class GreylistFilter(GreylistSettings settings)
{
    private readonly GreylistSettings _settings = settings;
    private string? _network;
    private bool _exemptClient;
    private bool _exemptMessage;
    private string _sender = "";

    [OnConnect]
    public void Connect(ConnectInfo client)
    {
        IPAddress? address = IpNetwork.ParseClient(client.Address.Bytes);
        _network = address is null ? null : GreylistKeys.Network(address, _settings.Ipv4Prefix, _settings.Ipv6Prefix);
        _exemptClient = address is null
            || _settings.ExemptClients.Any(n => n.Contains(address))
            || (_settings.ExemptHosts.Count > 0 && IsExemptHost(client.HostNameString()));
    }

    [OnMailFrom]
    public void MailFrom(string sender, [Macro("{auth_authen}")] string? login)
    {
        _sender = sender;
        _exemptMessage = _exemptClient || !string.IsNullOrEmpty(login) || _settings.ExemptSenders.Any(p => p.IsMatch(sender));
    }

    // Asynchronous: the Redis store answers over the network while the I/O thread serves other connections; the wait
    // ends at the store's deadline or when the callback is aborted. The in-process store completes synchronously.
    [OnRcptTo]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Verdict> RcptTo(string recipient, MilterContext context)
    {
        if (_exemptMessage || _network is null || _settings.ExemptRecipients.Any(p => p.IsMatch(recipient)))
        {
            return Verdict.Continue;
        }

        GreylistDecision decision;
        long start = Stopwatch.GetTimestamp();
        try
        {
            decision = await _settings.Store.CheckAsync(
                GreylistKeys.Triplet(_network, _sender, recipient), _network, _settings.Times, context.CallbackAborted).ConfigureAwait(false);
            _settings.StoreMetrics.Answered(start);
        }
        catch (RedisException failure)
        {
            return StoreFailure.Handle(_settings.StoreSettings, _settings.StoreMetrics, failure, context);
        }

        if (decision.Passes)
        {
            if (decision.Outcome == GreylistOutcome.Passed)
            {
                GreylistLog.Passed(context.Logger, context.ConnectionId, _network, LogText.Escape(_sender), LogText.Escape(recipient));
            }

            return Verdict.Continue;
        }

        GreylistLog.Greylisted(context.Logger, context.ConnectionId, _network, LogText.Escape(_sender), LogText.Escape(recipient), decision.Outcome, decision.Wait);
        return Verdict.TempFailWith(_settings.Reply);
    }

    private bool IsExemptHost(string name) => _settings.ExemptHosts.Any(p => p.IsMatch(name));
}
