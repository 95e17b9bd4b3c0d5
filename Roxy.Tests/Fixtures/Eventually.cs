namespace Roxy.Tests.Fixtures;

/// <summary>For state that settles in the background: polls until true, fails with the message when time runs out.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan? timeout = null, string? because = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, because ?? "the condition did not become true in time");
            await Task.Delay(50);
        }
    }
}
