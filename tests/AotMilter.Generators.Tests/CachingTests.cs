extern alias Generator;

using System.Collections;
using System.Collections.Immutable;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Generator::AotMilter.Generators;

namespace AotMilter.Generators.Tests;

/// <summary>
/// The pipeline caches: a second run after an unrelated edit re-uses every step's output, and no output holds a
/// symbol, syntax node or compilation (which would keep old compilations alive and defeat caching).
/// </summary>
public class CachingTests
{
    private static readonly string[] s_trackingNames =
    [
        .. typeof(TrackingNames)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!),
    ];

    [Fact]
    public void AnUnrelatedEditToAFilterLibraryLeavesEveryStepCached()
    {
        CSharpCompilation compilation = TestCompiler.CreateCompilation(SampleSet.All["everything"]);

        AssertCachedAfterUnrelatedEdit(compilation);
    }

    [Fact]
    public void AnUnrelatedEditToAnExecutableThatLinksAFilterLibraryLeavesEveryStepCached()
    {
        MetadataReference library = LinkingTests.CompileLibrary("Bundled", Samples.Bundled).Reference;
        CSharpCompilation compilation = TestCompiler.CreateCompilation(
            [Samples.Program, Samples.EveryCallback],
            OutputKind.ConsoleApplication,
            "App",
            [library]);

        AssertCachedAfterUnrelatedEdit(compilation);
    }

    [Fact]
    public void EditingOneFilterRerunsOnlyThatFilter()
    {
        CSharpCompilation compilation = TestCompiler.CreateCompilation(SampleSet.All["everything"]);
        GeneratorRun first = TestCompiler.Run(compilation);

        SyntaxTree old = compilation.SyntaxTrees.First(t => t.ToString().Contains("[Milter(\"eom-only\")]", StringComparison.Ordinal));
        SyntaxTree edited = old.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From(
            old.ToString().Replace("[Milter(\"eom-only\")]", "[Milter(\"eom-only\", Description = \"edited\")]", StringComparison.Ordinal)));
        GeneratorDriverRunResult second = first.Driver.RunGenerators(compilation.ReplaceSyntaxTree(old, edited)).GetRunResult();

        IncrementalStepRunReason[] reasons =
        [
            .. second.Results[0].TrackedSteps[TrackingNames.Filters].SelectMany(step => step.Outputs).Select(o => o.Reason),
        ];
        Assert.Equal(7, reasons.Length);
        Assert.Equal(1, reasons.Count(r => r == IncrementalStepRunReason.Modified));
        Assert.Equal(6, reasons.Count(r => r == IncrementalStepRunReason.Cached));
        Assert.Contains("\"edited\"", second.Results[0].GeneratedSources.Single(s => s.HintName == "Samples.EndOfMessageOnlyFilter.Milter.g.cs").SourceText.ToString(), StringComparison.Ordinal);
    }

    private static void AssertCachedAfterUnrelatedEdit(CSharpCompilation compilation)
    {
        GeneratorRun first = TestCompiler.Run(compilation);
        Assert.Empty(first.AllProblems);

        CSharpCompilation edited = compilation.AddSyntaxTrees(
            CSharpSyntaxTree.ParseText("namespace Unrelated; public sealed class Edit { public int Value { get; set; } }", TestCompiler.ParseOptions, path: "Edit.cs"));
        GeneratorDriverRunResult second = first.Driver.RunGenerators(edited).GetRunResult();

        Dictionary<string, ImmutableArray<IncrementalGeneratorRunStep>> steps1 = Tracked(first.Result);
        Dictionary<string, ImmutableArray<IncrementalGeneratorRunStep>> steps2 = Tracked(second);

        // Every named step ran (no name is stale), in both runs.
        foreach (string name in s_trackingNames)
        {
            Assert.True(steps1.ContainsKey(name), $"step {name} did not run");
        }

        Assert.Equal(steps1.Keys.Order(StringComparer.Ordinal), steps2.Keys.Order(StringComparer.Ordinal));
        foreach ((string name, ImmutableArray<IncrementalGeneratorRunStep> runs2) in steps2)
        {
            ImmutableArray<IncrementalGeneratorRunStep> runs1 = steps1[name];
            Assert.Equal(runs1.Length, runs2.Length);
            for (int i = 0; i < runs2.Length; i++)
            {
                Assert.Equal(runs1[i].Outputs.Select(o => o.Value), runs2[i].Outputs.Select(o => o.Value));
                foreach ((object value, IncrementalStepRunReason reason) in runs2[i].Outputs)
                {
                    Assert.True(
                        reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                        $"step {name} output {value} was {reason} after an unrelated edit");
                }

                AssertHoldsNoCompilerObjects(runs1[i], name);
                AssertHoldsNoCompilerObjects(runs2[i], name);
            }
        }

        // And every source output was reused.
        Assert.All(
            second.Results[0].TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    private static Dictionary<string, ImmutableArray<IncrementalGeneratorRunStep>> Tracked(GeneratorDriverRunResult result)
        => result.Results[0].TrackedSteps
            .Where(step => s_trackingNames.Contains(step.Key))
            .ToDictionary(step => step.Key, step => step.Value);

    /// <summary>Walks every field of every output, as NetEscapades.EnumGenerators' tests do.</summary>
    private static void AssertHoldsNoCompilerObjects(IncrementalGeneratorRunStep step, string name)
    {
        var visited = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach ((object value, IncrementalStepRunReason _) in step.Outputs)
        {
            Visit(value);
        }

        void Visit(object? node)
        {
            if (node is null || !visited.Add(node))
            {
                return;
            }

            Assert.False(node is Compilation or ISymbol or SyntaxNode or SemanticModel or SyntaxTree or Location, $"step {name} holds a {node.GetType()}");
            Type type = node.GetType();
            if (type.IsPrimitive || type.IsEnum || type == typeof(string))
            {
                return;
            }

            if (node is IEnumerable collection)
            {
                foreach (object? element in collection)
                {
                    Visit(element);
                }

                return;
            }

            foreach (FieldInfo field in type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance))
            {
                Visit(field.GetValue(node));
            }
        }
    }
}
