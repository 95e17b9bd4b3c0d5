namespace Roxy.Grains.Tenancy;

/// <summary>
/// Replaces the config-owned items of a list with what the YAML says, keeping runtime-owned ones untouched.
/// </summary>
internal static class OwnedMerge
{
    public static (List<T> Merged, int Added, int Changed, int Removed) Apply<T>(
        IReadOnlyList<T> current,
        IReadOnlyList<T> fromConfig,
        Func<T, string> idOf,
        Func<T, Owner> ownerOf,
        Func<T, T, T>? carryOver = null,
        Func<T, T, bool>? equals = null)
    {
        var existing = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var item in current)
        {
            existing[idOf(item)] = item;
        }

        var merged = new List<T>(current.Count + fromConfig.Count);
        var configIds = new HashSet<string>(StringComparer.Ordinal);
        int added = 0, changed = 0;
        foreach (var wanted in fromConfig)
        {
            var id = idOf(wanted);
            if (!configIds.Add(id))
            {
                continue;
            }

            if (existing.TryGetValue(id, out var old))
            {
                var next = carryOver is null ? wanted : carryOver(old, wanted);
                if (!(equals?.Invoke(old, next) ?? EqualityComparer<T>.Default.Equals(old, next)))
                {
                    changed++;
                }

                merged.Add(next);
            }
            else
            {
                added++;
                merged.Add(wanted);
            }
        }

        var removed = 0;
        foreach (var item in current)
        {
            if (configIds.Contains(idOf(item)))
            {
                continue;
            }

            if (ownerOf(item) == Owner.Runtime)
            {
                merged.Add(item);
            }
            else
            {
                removed++;
            }
        }

        return (merged, added, changed, removed);
    }
}
