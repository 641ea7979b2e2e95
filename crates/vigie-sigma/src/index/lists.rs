//! Lists of ids, one per item, packed for lookups at random.

/// Marks a head that says where a run lies (else it is the one id).
const RUN: u32 = 1 << 31;

/// Per item, a list of ids below 2^31 (rules a literal triggers, literals
/// a pattern implies).
///
/// `Vec<Vec<u32>>` read two cache lines per lookup (the item's vector
/// header, then its heap block), each often a miss: the index is read at
/// random across hundreds of routes. Here an item's head is four bytes
/// (sixteen to a line), a list of one id is its head, and longer lists
/// lie together in one block, their length first.
#[derive(Default)]
pub(super) struct PackedLists {
    /// Per item: its one id, or `RUN |` where its length lies in `runs`
    /// (an empty list is a run of length 0).
    heads: Vec<u32>,
    /// Each longer list: its length, then its ids.
    runs: Vec<u32>,
}

impl PackedLists {
    /// Packs `lists`, item by item. Ids of 2^31 or more (not reached: they
    /// number rules or literals of one route) are dropped.
    pub(super) fn new(lists: &[Vec<u32>]) -> PackedLists {
        let mut packed = PackedLists {
            heads: Vec::with_capacity(lists.len()),
            runs: Vec::new(),
        };
        for list in lists {
            let list: Vec<u32> = list.iter().copied().filter(|&id| id < RUN).collect();
            if let [id] = list.as_slice() {
                packed.heads.push(*id);
            } else {
                packed.heads.push(RUN | packed.runs.len() as u32);
                packed.runs.push(list.len() as u32);
                packed.runs.extend_from_slice(&list);
            }
        }
        packed
    }

    /// The number of items.
    pub(super) fn len(&self) -> usize {
        self.heads.len()
    }

    /// The list of `item` (empty for an item beyond the last).
    #[inline]
    pub(super) fn get(&self, item: usize) -> &[u32] {
        match self.heads.get(item) {
            None => &[],
            Some(id) if id & RUN == 0 => std::slice::from_ref(id),
            Some(&head) => {
                let at = (head & !RUN) as usize;
                let len = self.runs.get(at).map_or(0, |&n| n as usize);
                self.runs.get(at + 1..at + 1 + len).unwrap_or_default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_of_every_length_read_back_as_they_were_packed() {
        let lists: Vec<Vec<u32>> = vec![
            vec![],
            vec![7],
            vec![0],
            vec![3, 1, 4],
            vec![RUN - 1],
            vec![5, 5],
            vec![RUN, 9],
        ];
        let packed = PackedLists::new(&lists);
        assert_eq!(packed.len(), lists.len());
        for (i, list) in lists.iter().take(6).enumerate() {
            assert_eq!(packed.get(i), list.as_slice(), "item {i}");
        }
        // An id too large to pack is dropped, the rest kept.
        assert_eq!(packed.get(6), &[9]);
        assert_eq!(packed.get(7), &[] as &[u32]);
    }
}
