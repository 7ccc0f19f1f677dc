namespace AotMilter.Server;

/// <summary>
/// When an event loop looks for ready descriptors for a while (<see cref="Budget"/>) before it sleeps in epoll_wait.
/// A thread that sleeps is woken by the kernel when its peer writes, and on a virtual machine whose core went idle
/// meanwhile that wake-up costs tens of microseconds: more than the daemon's own work for a reply. Under a steady
/// load the next command is usually that close (the MTA sends a message's headers and body one frame after each
/// reply, a store answers within a round trip), so looking for it without sleeping saves the wake-up on each: on two
/// cores shared with the load generator, the rate limiter answered about a fifth more messages a second with its
/// in-process store and a third more with Redis.
/// <para>
/// Bounded, so that a quiet or moderately loaded daemon spends nothing on it: it polls only while its waits take less
/// than half the budget on average (a running average over the last few, so a steady stream of events, not one
/// that happened to come soon after another), and each poll that found nothing makes it skip the next 1, 2, 4 … 64
/// waits, until a poll finds something again. Between looks the loop yields its core to any other thread that can
/// run there: the MTA or the store it waits for; and it does not poll at all while other threads of the process have
/// work waiting (the log writer's lines: polling past them cost 5-15 % of the messages a second at concurrency 8 with a
/// log line per connection). Measured with an MTA that pauses 1 ms between SMTP stages, as a
/// remote client makes it, at about 1,000 messages a second: the same CPU per message as without polling (a policy
/// that polled whenever the average was under the whole budget cost 15 % more).
/// </para>
/// Loop thread only: one per <see cref="EventLoop"/>.
/// </summary>
internal struct BusyPoll(long budgetTicks)
{
    /// <summary>The longest run of waits a fruitless poll makes the loop sleep through without polling.</summary>
    public const int MaxBackoff = 64;

    /// <summary>
    /// The longest wait counted as such in the running average: one idle second would otherwise keep a loop that is
    /// busy again from polling for hundreds of waits.
    /// </summary>
    public const int LongestWaitBudgets = 16;

    // A running average of how long waits took (each new one weighs an eighth), in ticks; it starts as long.
    private long _typicalWait = LongestWaitBudgets * budgetTicks;
    private int _skips;
    private int _backoff;

    /// <summary>How long one poll lasts at most, in <see cref="System.Diagnostics.Stopwatch"/> ticks (0: never polls).</summary>
    public readonly long Budget => budgetTicks;

    /// <summary>Whether the coming wait polls first.</summary>
    public bool ShouldPoll()
    {
        if (budgetTicks == 0 || _typicalWait >= budgetTicks / 2)
        {
            return false;
        }

        if (_skips > 0)
        {
            _skips--;
            return false;
        }

        return true;
    }

    /// <summary>A poll ended: with ready descriptors, or with none within the budget.</summary>
    public void Polled(bool found)
    {
        if (found)
        {
            _backoff = 0;
            return;
        }

        _backoff = Math.Clamp(_backoff * 2, 1, MaxBackoff);
        _skips = _backoff;
    }

    /// <summary>A wait ended after <paramref name="ticks"/> (polling and sleeping together).</summary>
    public void Waited(long ticks) => _typicalWait += (Math.Min(ticks, LongestWaitBudgets * budgetTicks) - _typicalWait) / 8;
}
