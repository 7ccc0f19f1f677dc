using Xunit;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// After a load through Postfix and a milter chain with the bench filter: every message delivered exactly once,
/// unaltered, each with the bench filter's <c>X-Bench</c> (so none went through unfiltered), and the queue empty.
/// </summary>
public static class DeliveryAudit
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Waits for the queue to drain, then asserts; returns the counts line.</summary>
    public static async Task<string> AssertDeliveredOnceAndFilteredAsync(PostfixInstance postfix, List<TestMessage> messages, string report)
    {
        var queueEmpty = await WaitForDrainAsync(postfix, messages.Count);
        var delivered = postfix.Sink.Messages;
        var byId = delivered.ToLookup(MessageId);
        var sent = messages.Select(m => m.MessageId).ToHashSet();
        var lost = messages.Where(m => !byId.Contains(m.MessageId)).Select(m => m.MessageId).ToList();
        var duplicated = messages.Where(m => byId[m.MessageId].Count() > 1).Select(m => m.MessageId).ToList();
        var altered = messages.Where(m => byId[m.MessageId].Any(d => !d.Body.SequenceEqual(m.Body))).Select(m => m.MessageId).ToList();
        var unknown = delivered.Count(d => !sent.Contains(MessageId(d)));
        // Every message carries the same header fields, so the bench filter's count is the same for all.
        var mark = messages[0].Headers.Count.ToString();
        var unfiltered = delivered.Where(d => d.Parsed.HeaderValues("X-Bench") is not [var value] || value != mark)
            .Select(d => $"{MessageId(d)} (X-Bench: {string.Join(", ", d.Parsed.HeaderValues("X-Bench"))})").ToList();
        var counts = $"{delivered.Count} delivered: {lost.Count} lost, {duplicated.Count} duplicated, {unfiltered.Count} without "
            + $"exactly one 'X-Bench: {mark}', {altered.Count} with another body, {unknown} unknown; queue {(queueEmpty ? "" : "not ")}empty";

        Assert.True(lost.Count == 0, $"{counts}. Lost: {string.Join(", ", lost.Take(10))}\n{report}");
        Assert.True(duplicated.Count == 0, $"{counts}. Duplicated: {string.Join(", ", duplicated.Take(10))}\n{report}");
        Assert.True(unfiltered.Count == 0, $"{counts}. Unfiltered: {string.Join(", ", unfiltered.Take(10))}\n{report}");
        Assert.True(altered.Count == 0, $"{counts}. Altered: {string.Join(", ", altered.Take(10))}");
        Assert.True(unknown == 0 && delivered.Count == messages.Count, $"{counts}\n{report}");
        Assert.True(queueEmpty, $"{counts}\n{await postfix.QueueListingAsync()}");
        return counts;
    }

    private static string MessageId(SinkMessage message) => message.Parsed.HeaderValues("Message-ID").FirstOrDefault() ?? "(none)";

    /// <summary>Waits until the sink holds every message and the queue is empty; false if the queue never emptied.</summary>
    private static async Task<bool> WaitForDrainAsync(PostfixInstance postfix, int count)
    {
        var deadline = DateTime.UtcNow + DrainTimeout;
        while (true)
        {
            var empty = await postfix.QueueIsEmptyAsync();
            if (empty && postfix.Sink.Count >= count || DateTime.UtcNow >= deadline)
            {
                return empty;
            }

            await Task.Delay(200);
        }
    }
}
