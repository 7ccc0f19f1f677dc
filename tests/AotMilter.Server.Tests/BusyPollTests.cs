namespace AotMilter.Server.Tests;

/// <summary>When an event loop polls before it sleeps: only under a steady load, and less after polls that found nothing.</summary>
public class BusyPollTests
{
    private const long Budget = 1000;

    [Fact]
    public void ALoopPollsOnlyOnceItsWaitsEndWellWithinTheBudget()
    {
        var poll = new BusyPoll(Budget);
        Assert.False(poll.ShouldPoll());

        // Waits of a tenth of the budget: after a few the typical wait is short enough.
        int waits = 0;
        while (!poll.ShouldPoll())
        {
            poll.Waited(Budget / 10);
            Assert.True(++waits < 200, "never polled under a steady load");
        }

        // Long waits (an idle spell, a once-a-second tick) stop it again.
        for (int i = 0; i < 3; i++)
        {
            poll.Waited(1000 * Budget);
        }

        Assert.False(poll.ShouldPoll());
    }

    [Fact]
    public void WaitsOfAboutTheBudgetItselfDoNotMakeItPoll()
    {
        // Events further apart than half the budget: a poll would mostly find nothing, so the loop sleeps.
        var poll = new BusyPoll(Budget);
        for (int i = 0; i < 500; i++)
        {
            poll.Waited(Budget * 3 / 4);
            Assert.False(poll.ShouldPoll());
        }
    }

    [Fact]
    public void EachFruitlessPollDoublesTheWaitsSleptThroughUntilOneFindsSomething()
    {
        var poll = Loaded();
        var skipped = new List<int>();
        for (int round = 0; round < 9; round++)
        {
            Assert.True(poll.ShouldPoll());
            poll.Polled(found: false);
            int skips = 0;
            while (!poll.ShouldPoll())
            {
                skips++;
            }

            skipped.Add(skips);
        }

        Assert.Equal([1, 2, 4, 8, 16, 32, 64, 64, 64], skipped);

        // One that finds something: the next wait polls again, and a fruitless one after it costs a single skip.
        poll.Polled(found: true);
        Assert.True(poll.ShouldPoll());
        poll.Polled(found: false);
        Assert.False(poll.ShouldPoll());
        Assert.True(poll.ShouldPoll());
    }

    [Fact]
    public void AZeroBudgetNeverPolls()
    {
        var poll = new BusyPoll(0);
        for (int i = 0; i < 100; i++)
        {
            poll.Waited(0);
            Assert.False(poll.ShouldPoll());
        }
    }

    private static BusyPoll Loaded()
    {
        var poll = new BusyPoll(Budget);
        for (int i = 0; i < 100; i++)
        {
            poll.Waited(0);
        }

        return poll;
    }
}
